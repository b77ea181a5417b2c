/**
 * A local fleet: an in-memory fleet registry served over HTTP on a loopback TCP port and/or a unix socket, answering
 * the whole fleet v1 API exactly as fleetd does (status codes, error bodies, headers, paging, validation), with
 * simulated agents and a {@link FleetControl.FleetControl} service to seed it and inject faults.
 *
 * It serves with node's `http.createServer` rather than Effect's HTTP server: fleet compatibility needs byte-exact
 * control over headers (fleet's `Server` header, Go's redirects, `HEAD` answers without bodies, every duplicate
 * `Content-Type` a client sent) and over connections (destroying a socket before answering or halfway through a
 * body), which a raw node server gives directly.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import type * as http from "node:http"
import type * as net from "node:net"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as FleetControl from "./FleetControl.ts"
import { ValueError } from "./FleetError.ts"
import { makeLocal } from "./internal/server/control.ts"
import * as ControlHttp from "./internal/server/controlHttp.ts"
import type { LocalFleet } from "./internal/server/localFleet.ts"
import { createServer, type DoorOptions, defaultMaxBodyBytes } from "./internal/server/socketDoor.ts"

/**
 * The server could not start listening (address in use, permission denied, a socket path that already exists).
 *
 * @since 0.1.0
 * @category errors
 */
export class FleetServerError extends Schema.TaggedError<FleetServerError>()("FleetServerError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * Where and how to serve.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** TCP port; `0` picks a free one. TCP is served when a port is given or when no `socketPath` is. */
  readonly port?: number | undefined
  /** TCP host (default `127.0.0.1`). */
  readonly host?: string | undefined
  /** Also (or only) serve on this unix socket; the file is removed when the server stops. */
  readonly socketPath?: string | undefined
  /** fleet's page size, `token_limit` (default 100). */
  readonly tokenLimit?: number | undefined
  /** Simulated agents (default) or none. */
  readonly agents?: FleetControl.Agents | undefined
  /** Machines to start with, before the seed (default none; `effect-fleet serve` starts with 3; since 0.2.0). */
  readonly machines?: number | undefined
  /** The simulated cluster's timing (fleet's defaults), on Effect's `Clock` (since 0.2.0). */
  readonly timing?: FleetControl.Timing | undefined
  /**
   * Also serve the control surface over HTTP on this TCP port of `host` (`0` picks a free one), for
   * `FleetControl.layerRemote` or any other process (since 0.2.0).
   */
  readonly controlPort?: number | undefined
  /** Initial content. */
  readonly seed?: FleetControl.Seed | undefined
  /**
   * Request bodies over this many bytes are answered 413 in fleet's error shape, without reading the rest
   * (default 16 MiB).
   */
  readonly maxBodyBytes?: number | undefined
  /** Initial content read from a JSON file (`{"machines":[...],"states":[...],"units":[...]}`), after `seed`. */
  readonly seedFile?: string | undefined
}

/**
 * The running server: where it listens, and its control service.
 *
 * @since 0.1.0
 * @category models
 */
export interface FleetServerService {
  /** The endpoint to give a client: `http://HOST:PORT` when TCP is served, else `unix://SOCKET`. */
  readonly url: string
  /** The bound TCP port, when TCP is served. */
  readonly port: number | undefined
  /** The TCP host, when TCP is served. */
  readonly host: string | undefined
  /** The unix socket path, when one is served. */
  readonly socketPath: string | undefined
  /** Seed, reset, inject faults, observe. */
  readonly control: FleetControl.FleetControlService
  /** Where the control surface is served (`http://HOST:PORT`), when `controlPort` was given (since 0.2.0). */
  readonly controlUrl?: string | undefined
}

/**
 * The running local fleet server.
 *
 * @since 0.1.0
 * @category services
 */
export class FleetServer extends Context.Service<FleetServer, FleetServerService>()("effect-fleet/FleetServer") {}

// What a person at a shell needs to read, rather than libuv's "listen EADDRINUSE: address already in use ...".
const listenProblems: Readonly<Record<string, string>> = {
  EADDRINUSE: "address already in use",
  EACCES: "permission denied",
  EADDRNOTAVAIL: "address not available on this machine",
  ENOENT: "no such directory"
}

const listenProblem = (cause: NodeJS.ErrnoException): string =>
  (cause.code === undefined ? undefined : listenProblems[cause.code]) ?? cause.message

const listen = (
  server: http.Server,
  options: net.ListenOptions,
  where: string
): Effect.Effect<http.Server, FleetServerError> =>
  Effect.callback<http.Server, FleetServerError>((resume) => {
    const onError = (cause: NodeJS.ErrnoException) =>
      resume(
        Effect.fail(new FleetServerError({ message: `cannot listen on ${where}: ${listenProblem(cause)}`, cause }))
      )
    server.once("error", onError)
    server.listen(options, () => {
      server.off("error", onError)
      resume(Effect.succeed(server))
    })
  })

const close = (server: http.Server): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    server.close(() => resume(Effect.void))
    server.closeAllConnections()
  })

const serve = (
  fleet: LocalFleet,
  door: DoorOptions,
  options: net.ListenOptions,
  where: string,
  socketPath?: string
): Effect.Effect<http.Server, FleetServerError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => listen(createServer(fleet, door), options, where)),
    (server) =>
      close(server).pipe(
        Effect.andThen(
          Effect.sync(() => {
            if (socketPath !== undefined) fs.rmSync(socketPath, { force: true })
          })
        )
      )
  )

const readSeedFile = (path: string): Effect.Effect<FleetControl.Seed, ValueError> =>
  Effect.tryPromise({
    try: () => fs.promises.readFile(path, "utf8"),
    catch: (error) =>
      new ValueError({
        message: `cannot read seed file ${path}: ${error instanceof Error ? error.message : String(error)}`
      })
  }).pipe(
    Effect.flatMap(FleetControl.decodeSeedJson),
    Effect.mapError((error) =>
      error.message.startsWith("invalid seed: ")
        ? new ValueError({ message: `invalid seed file ${path}: ${error.message.slice("invalid seed: ".length)}` })
        : error
    )
  )

const formatHost = (host: string): string => (host.includes(":") ? `[${host}]` : host)

/**
 * Starts a local fleet server in the current scope; it stops (and removes its socket file) when the scope closes.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FleetServer } from "effect-fleet"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function* () {
 *     const server = yield* FleetServer.make({ port: 0 })
 *     console.log(server.url) // http://127.0.0.1:PORT
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<FleetServerService, ValueError | FleetServerError, Scope.Scope> =>
  Effect.gen(function* () {
    const maxBodyBytes = options.maxBodyBytes ?? defaultMaxBodyBytes
    if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0) {
      return yield* new ValueError({ message: `maxBodyBytes must be a whole number of bytes, got ${maxBodyBytes}` })
    }
    for (const [name, value] of [
      ["port", options.port],
      ["controlPort", options.controlPort]
    ] as const) {
      if (value !== undefined && !(Number.isInteger(value) && value >= 0 && value <= 65535)) {
        return yield* new ValueError({ message: `${name} must be a whole number from 0 to 65535, got ${value}` })
      }
    }
    const { control, fleet } = yield* makeLocal(options)
    const context = yield* Effect.context<never>()
    const door: DoorOptions = {
      maxBodyBytes,
      // The server outlives any one request: a defect is answered 500 and logged where the program logs.
      onDefect: (cause, request) =>
        Effect.runForkWith(context)(Effect.logError(`FleetServer: ${request.method} ${request.url} failed`, cause))
    }
    if (options.seedFile !== undefined) yield* control.seed(yield* readSeedFile(options.seedFile))
    const host = options.host ?? "127.0.0.1"
    const tcp = options.port !== undefined || options.socketPath === undefined
    let port: number | undefined
    if (tcp) {
      const server = yield* serve(
        fleet,
        door,
        { port: options.port ?? 0, host },
        `http://${formatHost(host)}:${options.port ?? 0}`
      )
      const address = server.address()
      port = typeof address === "object" && address !== null ? address.port : undefined
    }
    if (options.socketPath !== undefined) {
      yield* serve(fleet, door, { path: options.socketPath }, `unix://${options.socketPath}`, options.socketPath)
    }
    let controlUrl: string | undefined
    if (options.controlPort !== undefined) {
      const where = `http://${formatHost(host)}:${options.controlPort}`
      const server = yield* Effect.acquireRelease(
        Effect.suspend(() =>
          listen(ControlHttp.createServer(control, maxBodyBytes), { port: options.controlPort, host }, where)
        ),
        close
      )
      const address = server.address()
      controlUrl = `http://${formatHost(host)}:${typeof address === "object" && address !== null ? address.port : 0}`
    }
    return {
      controlUrl,
      url: tcp ? `http://${formatHost(host)}:${port}` : `unix://${options.socketPath}`,
      port,
      host: tcp ? host : undefined,
      socketPath: options.socketPath,
      control
    }
  })

/**
 * Serves a local fleet for the lifetime of the layer, providing {@link FleetServer} (its address) and
 * `FleetControl` (seeding, faults, observation).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FleetControl, FleetServer, Machine } from "effect-fleet"
 *
 * const program = Effect.gen(function* () {
 *   const server = yield* FleetServer.FleetServer
 *   const control = yield* FleetControl.FleetControl
 *   yield* control.seed({ machines: [new Machine.Machine({ id: "m1" })] })
 *   return server.url
 * }).pipe(Effect.provide(FleetServer.layer({ port: 0 })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<FleetServer | FleetControl.FleetControl, ValueError | FleetServerError> =>
  Layer.effectContext(
    Effect.map(make(options), (server) =>
      Context.make(FleetServer, server).pipe(Context.add(FleetControl.FleetControl, server.control))
    )
  )
