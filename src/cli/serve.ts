/**
 * `effect-fleet serve`: a local fleet server (the whole fleet v1 API over an in-memory registry) on a loopback TCP
 * port and/or a unix socket until SIGINT or SIGTERM. The server is loaded only when this command runs.
 *
 * @internal
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

const port = Flag.Int("port").pipe(
  Flag.withDescription("TCP port on the host (0 picks a free one; default 49153 unless only --socket is given)"),
  Flag.optional
)

const host = Flag.String("host").pipe(Flag.withDescription("TCP host to bind"), Flag.withDefault("127.0.0.1"))

const socket = Flag.String("socket").pipe(
  Flag.withDescription("Also serve on this unix socket (removed on exit)"),
  Flag.optional
)

const tokenLimit = Flag.Int("token-limit").pipe(
  Flag.withDescription("Page size of every listing (fleetd's token_limit)"),
  Flag.withDefault(100)
)

const seed = Flag.String("seed").pipe(
  Flag.withDescription('JSON file of {"machines":[...],"states":[...],"units":[...]} to start with'),
  Flag.optional
)

const agents = Flag.Literals("agents", ["simulated", "off"]).pipe(
  Flag.withDescription("Simulated agents schedule and run units; off leaves them unscheduled"),
  Flag.withDefault("simulated")
)

export const serve = Command.make(
  "serve",
  { port, host, socket, tokenLimit, seed, agents },
  Effect.fn("effect-fleet.serve")(function* (flags) {
    const FleetServer = yield* Effect.promise(() => import("../FleetServer.ts"))
    const socketPath = Option.getOrUndefined(flags.socket)
    const tcpPort = Option.getOrElse(flags.port, () => (socketPath === undefined ? 49153 : undefined))
    const server = yield* FleetServer.make({
      port: tcpPort,
      host: flags.host,
      socketPath,
      tokenLimit: flags.tokenLimit,
      agents: flags.agents,
      seedFile: Option.getOrUndefined(flags.seed)
    })
    if (server.port !== undefined) yield* Console.log(`listening on ${server.url}`)
    if (server.socketPath !== undefined) yield* Console.log(`listening on unix://${server.socketPath}`)
    return yield* Effect.never
  }, Effect.scoped)
).pipe(Command.withDescription("Serve a local fleet v1 API over an in-memory fleet (not a fleetctl command)"))
