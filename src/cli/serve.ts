/**
 * `effect-fleet serve`: a local fleet server (the whole fleet v1 API over an in-memory fleet) on a loopback TCP port
 * and/or a unix socket until SIGINT or SIGTERM. Its own failures (a bad flag, seed file or address) are one line on
 * stderr and exit code 1, never a stack trace.
 *
 * @since 0.2.0
 * @internal
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import { ValueError } from "../FleetError.ts"

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

const machines = Flag.Int("machines").pipe(
  Flag.withDescription("Machines to start with (default 3 without --seed, none with it; the seed's come after)"),
  Flag.optional
)

const controlPort = Flag.Int("control-port").pipe(
  Flag.withDescription(
    "Serve the control surface (seed, reset, snapshot, machines down/up, unit failures, faults," +
      " etcd unavailable, request log) over HTTP on this port of --host (0 picks a free one)"
  ),
  Flag.optional
)

const maxBody = Flag.String("max-body").pipe(
  Flag.withDescription("Largest request body accepted, in bytes or with K, M, G (KiB, MiB, GiB); larger ones get 413"),
  Flag.withDefault("16M")
)

const units: Readonly<Record<string, number>> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }

/** `1048576`, `512K`, `16M`, `16MiB`, `1g`: binary multiples, as people mean them for memory. */
const parseSize = (text: string): Effect.Effect<number, ValueError> => {
  const match = /^(\d+)\s*([kmg]?)(?:i?b)?$/i.exec(text.trim())
  const size = match === null ? Number.NaN : Number(match[1]) * units[match[2]!.toLowerCase()]!
  return Number.isSafeInteger(size)
    ? Effect.succeed(size)
    : Effect.fail(new ValueError({ message: `--max-body must be a size such as 16M or 1048576, got ${text}` }))
}

/** A failure of `serve` the command has already printed: the runtime must not log it again. */
class ServeFailed extends Error {
  override readonly [Runtime.errorReported] = false
}

const usage = [
  "Serve the fleet v1 HTTP API (discovery, units, unit states, machines) exactly as fleetd answers it, over an",
  "in-memory fleet with simulated agents. Listens on http://HOST:PORT (default http://127.0.0.1:49153) and/or",
  "unix://PATH (--socket), printing `listening on http://HOST:PORT` and `listening on unix://PATH` once ready,",
  "after a line saying how many machines the fleet has and whether agents run. Without --seed it starts with three",
  "machines (--machines N). --control-port serves the control surface (FleetControl.layerRemote talks to it) and",
  "prints `control on http://HOST:PORT`.",
  "Stops on SIGINT or SIGTERM, removing its socket."
].join("\n  ")

/**
 * The `serve` command.
 *
 * @since 0.1.0
 * @internal
 */
export const serve = Command.make(
  "serve",
  { port, host, socket, tokenLimit, seed, agents, machines, controlPort, maxBody },
  Effect.fn("effect-fleet.serve")(
    function* (flags) {
      // Loaded only when this command runs: the other commands never pay for the server.
      const FleetServer = yield* Effect.promise(() => import("../FleetServer.ts"))
      const socketPath = Option.getOrUndefined(flags.socket)
      const tcpPort = Option.getOrElse(flags.port, () => (socketPath === undefined ? 49153 : undefined))
      const seedFile = Option.getOrUndefined(flags.seed)
      const server = yield* FleetServer.make({
        machines: Option.getOrElse(flags.machines, () => (seedFile === undefined ? 3 : 0)),
        controlPort: Option.getOrUndefined(flags.controlPort),
        port: tcpPort,
        host: flags.host,
        socketPath,
        tokenLimit: flags.tokenLimit,
        agents: flags.agents,
        seedFile,
        maxBodyBytes: yield* parseSize(flags.maxBody)
      })
      const count = (yield* server.control.snapshot).machines.length
      const agentsLine = flags.agents === "simulated" ? "agents simulated" : "agents off (nothing is scheduled)"
      yield* Console.log(`local fleet: ${count} machine${count === 1 ? "" : "s"}, ${agentsLine}`)
      if (server.controlUrl !== undefined) yield* Console.log(`control on ${server.controlUrl}`)
      if (server.port !== undefined) yield* Console.log(`listening on ${server.url}`)
      if (server.socketPath !== undefined) yield* Console.log(`listening on unix://${server.socketPath}`)
      return yield* Effect.never
    },
    Effect.scoped,
    // A bad flag, seed file or address is the user's to fix: one line on stderr, no stack trace, exit 1.
    Effect.catchTags({
      ValueError: (error) => reportFailure(error.message),
      FleetServerError: (error) => reportFailure(error.message)
    })
  )
).pipe(Command.withDescription(usage))

const reportFailure = (message: string) =>
  Console.error(`effect-fleet serve: ${message.replace(/\s*\n\s*/g, " ")}`).pipe(
    Effect.andThen(Effect.fail(new ServeFailed(message)))
  )
