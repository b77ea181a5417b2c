/**
 * The control surface of a local fleet over HTTP (`serve --control-port`): every `FleetControl` operation as a small
 * JSON route, so another process (a test in another language, a `FleetControl.layerRemote` client) can seed the
 * fleet, take machines down, fail units, inject faults and read the request log.
 *
 * | route | body | answer |
 * |---|---|---|
 * | `POST /seed` | seed JSON (`{"machines","states","units"}`) | 204 |
 * | `POST /reset` | | 204 |
 * | `GET /snapshot` | | 200, seed JSON with `currentState` |
 * | `PUT /etcd-unavailable` | `true` or `false` | 204 |
 * | `PUT /agents` | `"simulated"` or `"off"` | 204 |
 * | `POST /faults` | `{"count":N,"fault":{"_tag":...}}` | 204 |
 * | `GET /requests`, `GET /requests/count` | | 200 |
 * | `POST /machines/up` | `{"id":...}` (back as it was) or `{"machine":{...}}` | 204 |
 * | `POST /machines/{id}/down` | optional `{"immediately":true}` | 204 |
 * | `PUT /machines/{id}/metadata` | `{"key":"value"}` | 204 |
 * | `POST /units/{name}/fail`, `POST /units/{name}/stop` | optional `{"machineID":...}` | 204 |
 *
 * Errors answer `{"error": message}`: 400 for a refused operation or a bad body, 404 for an unknown route, 405 for a
 * wrong method.
 *
 * @since 0.2.0
 * @internal
 */
import * as http from "node:http"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as FleetControl from "../../FleetControl.ts"
import { ValueError } from "../../FleetError.ts"
import { Machine } from "../../Machine.ts"

/**
 * A control answer.
 *
 * @since 0.2.0
 * @internal
 */
export interface ControlResponse {
  readonly status: number
  readonly body: string
}

/**
 * Faults in their JSON form (`{"_tag":"Status","status":502,"body":"...","contentType":"text/html"}`).
 *
 * @since 0.2.0
 * @internal
 */
export const FaultJson = Schema.Union([
  Schema.TaggedStruct("Unavailable", {}),
  Schema.TaggedStruct("Reset", {}),
  Schema.TaggedStruct("Truncate", {}),
  Schema.TaggedStruct("Stall", {}),
  Schema.TaggedStruct("InvalidJson", {}),
  Schema.TaggedStruct("Status", { status: Schema.Int, body: Schema.String, contentType: Schema.String })
])

const FaultsBody = Schema.Struct({ count: Schema.Int, fault: FaultJson })
const DownBody = Schema.Struct({ immediately: Schema.optionalKey(Schema.Boolean) })
const UpBody = Schema.Union([Schema.Struct({ id: Schema.String }), Schema.Struct({ machine: Machine })])
const UnitFaultBody = Schema.Struct({ machineID: Schema.optionalKey(Schema.String) })
const Metadata = Schema.Record(Schema.String, Schema.String)
const Agents = Schema.Literals(["simulated", "off"])

const answer = (status: number, value?: unknown): ControlResponse => ({
  status,
  body: value === undefined ? "" : JSON.stringify(value)
})

const done = answer(204)

const refuse = (status: number, message: string): ControlResponse => answer(status, { error: message })

const decodeBody = <S extends Schema.Constraint & { readonly DecodingServices: never }>(
  schema: S,
  body: string,
  empty?: unknown
): Effect.Effect<S["Type"], ValueError> =>
  Effect.try({
    try: (): unknown => (body.trim() === "" && empty !== undefined ? empty : JSON.parse(body)),
    catch: (error) => new ValueError({ message: `invalid body: ${String(error)}` })
  }).pipe(
    Effect.flatMap((json) => Schema.decodeUnknownEffect(schema)(json)),
    Effect.mapError((error) =>
      error instanceof ValueError ? error : new ValueError({ message: `invalid body: ${error.message}` })
    )
  )

const segment = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

const encodeSnapshot = Schema.encodeSync(FleetControl.Seed)

/**
 * Answers one control request.
 *
 * @since 0.2.0
 * @internal
 */
export const handle = (
  control: FleetControl.FleetControlService,
  method: string,
  url: string,
  body: string
): Effect.Effect<ControlResponse> => {
  const path = new URL(url, "http://control").pathname
  const parts = path.split("/").slice(1)
  const route = (wanted: string, run: () => Effect.Effect<ControlResponse, ValueError>) =>
    method === wanted ? run() : Effect.succeed(refuse(405, `use ${wanted} for ${path}`))
  const routed = ((): Effect.Effect<ControlResponse, ValueError> => {
    switch (path) {
      case "/seed":
        return route("POST", () =>
          FleetControl.decodeSeedJson(body).pipe(Effect.flatMap(control.seed), Effect.as(done))
        )
      case "/reset":
        return route("POST", () => Effect.as(control.reset, done))
      case "/snapshot":
        return route("GET", () => Effect.map(control.snapshot, (snapshot) => answer(200, encodeSnapshot(snapshot))))
      case "/etcd-unavailable":
        return route("PUT", () =>
          decodeBody(Schema.Boolean, body).pipe(Effect.flatMap(control.setEtcdUnavailable), Effect.as(done))
        )
      case "/agents":
        return route("PUT", () => decodeBody(Agents, body).pipe(Effect.flatMap(control.setAgents), Effect.as(done)))
      case "/faults":
        return route("POST", () =>
          decodeBody(FaultsBody, body).pipe(
            Effect.flatMap(({ count, fault }) => control.failNext(count, fault)),
            Effect.as(done)
          )
        )
      case "/requests":
        return route("GET", () => Effect.map(control.requests, (requests) => answer(200, requests)))
      case "/requests/count":
        return route("GET", () => Effect.map(control.requestCount, (count) => answer(200, count)))
      case "/machines/up":
        return route("POST", () =>
          decodeBody(UpBody, body).pipe(
            Effect.flatMap((up) => control.machineUp("machine" in up ? up.machine : up.id)),
            Effect.as(done)
          )
        )
    }
    const name = parts.length === 3 ? segment(parts[1]!) : undefined
    if (name !== undefined && parts[0] === "machines" && parts[2] === "down") {
      return route("POST", () =>
        decodeBody(DownBody, body, {}).pipe(
          Effect.flatMap((options) => control.machineDown(name, options)),
          Effect.as(done)
        )
      )
    }
    if (name !== undefined && parts[0] === "machines" && parts[2] === "metadata") {
      return route("PUT", () =>
        decodeBody(Metadata, body).pipe(
          Effect.flatMap((metadata) => control.setMachineMetadata(name, metadata)),
          Effect.as(done)
        )
      )
    }
    if (name !== undefined && parts[0] === "units" && (parts[2] === "fail" || parts[2] === "stop")) {
      const act = parts[2] === "fail" ? control.failUnit : control.stopUnit
      return route("POST", () =>
        decodeBody(UnitFaultBody, body, {}).pipe(
          Effect.flatMap((options) => act(name, options)),
          Effect.as(done)
        )
      )
    }
    return Effect.succeed(refuse(404, `no control route ${path}`))
  })()
  return routed.pipe(Effect.catch((error) => Effect.succeed(refuse(400, error.message))))
}

/**
 * A node HTTP server answering control requests for `control` (not listening yet). Bodies over `maxBodyBytes` are
 * refused with 413.
 *
 * @since 0.2.0
 * @internal
 */
export const createServer = (control: FleetControl.FleetControlService, maxBodyBytes: number): http.Server => {
  const server = http.createServer((req, res) => {
    req.on("error", () => {})
    res.on("error", () => {})
    const chunks: Array<Buffer> = []
    let size = 0
    const reply = (response: ControlResponse) => {
      if (res.headersSent) return
      res.writeHead(response.status, {
        "Content-Type": "application/json",
        "Content-Length": String(Buffer.byteLength(response.body))
      })
      res.end(response.body)
    }
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBodyBytes) {
        reply(refuse(413, "request body too large"))
        req.socket.destroy()
      } else chunks.push(chunk)
    })
    req.on("end", () => {
      if (size > maxBodyBytes) return
      const body = Buffer.concat(chunks).toString("utf8")
      Effect.runPromise(handle(control, req.method ?? "GET", req.url ?? "/", body)).then(reply, (cause: unknown) =>
        reply(refuse(500, String(cause)))
      )
    })
  })
  server.keepAliveTimeout = 5_000
  return server
}
