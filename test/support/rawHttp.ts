/**
 * A bare node:http client for talking to the local fleet server byte for byte: raw header lists (duplicate
 * Content-Types), no redirects followed, TCP or unix socket, and connection-level failures reported as values.
 */
import * as http from "node:http"

export type Target = { readonly _tag: "Tcp"; readonly port: number } | { readonly _tag: "Unix"; readonly path: string }

export interface RawResponse {
  readonly _tag: "Response"
  readonly status: number
  readonly headers: Readonly<Record<string, string | Array<string> | undefined>>
  readonly body: string
}

export interface RawFailure {
  readonly _tag: "Failure"
  /** `error`: the connection failed before a response; `aborted`: the body was cut; `timeout`: no answer in time. */
  readonly reason: "error" | "aborted" | "timeout"
  readonly status?: number
  readonly partial?: string
  readonly message: string
}

export interface RawRequest {
  readonly method?: string
  readonly path: string
  /** Flat list of name, value, name, value... so the same header can repeat. */
  readonly headers?: ReadonlyArray<string>
  readonly body?: string
  readonly timeoutMs?: number
}

export const send = (target: Target, request: RawRequest): Promise<RawResponse | RawFailure> =>
  new Promise((resolve) => {
    const base = target._tag === "Tcp" ? { host: "127.0.0.1", port: target.port } : { socketPath: target.path }
    // A raw header list stops node from adding Host, which HTTP/1.1 servers require.
    const headers = ["Host", "localhost", ...(request.headers ?? [])]
    if (request.body !== undefined) headers.push("Content-Length", String(Buffer.byteLength(request.body)))
    let settled = false
    const settle = (value: RawResponse | RawFailure) => {
      if (settled) return
      settled = true
      resolve(value)
    }
    const req = http.request(
      { ...base, method: request.method ?? "GET", path: request.path, headers, agent: false },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (chunk: Buffer) => chunks.push(chunk))
        res.on("end", () => {
          if (res.complete) {
            settle({
              _tag: "Response",
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString("utf8")
            })
          }
        })
        const cut = () =>
          settle({
            _tag: "Failure",
            reason: "aborted",
            status: res.statusCode ?? 0,
            partial: Buffer.concat(chunks).toString("utf8"),
            message: "response body cut short"
          })
        res.on("aborted", cut)
        res.on("error", cut)
        res.on("close", () => {
          if (!res.complete) cut()
        })
      }
    )
    req.on("error", (error) => settle({ _tag: "Failure", reason: "error", message: error.message }))
    if (request.timeoutMs !== undefined) {
      req.setTimeout(request.timeoutMs, () => {
        settle({ _tag: "Failure", reason: "timeout", message: "no answer" })
        req.destroy()
      })
    }
    req.end(request.body)
  })

/** Like {@link send}, but a failure is a thrown error: for requests that must get an answer. */
export const fetchRaw = async (target: Target, request: RawRequest): Promise<RawResponse> => {
  const result = await send(target, request)
  if (result._tag === "Failure") throw new Error(`${request.method ?? "GET"} ${request.path}: ${result.message}`)
  return result
}

export const json = ["Content-Type", "application/json"] as const
