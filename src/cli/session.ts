/**
 * What every command that talks to fleet runs inside: the global options resolved, the client built as fleetctl's
 * `runWrapper` builds it (a failure is `Unable to initialize client: ...`, exit 1), fleetctl's memoized machine list,
 * and errors rendered in fleetctl's words.
 *
 * @internal
 */
import * as Command from "effect/cli/Command"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Fleet from "../Fleet.ts"
import type { FleetError } from "../FleetError.ts"
import type { Machine } from "../Machine.ts"
import { type ErrorContext, errorText } from "./fleetctl.ts"
import { checkEndpoint, displayBase, fleetLayer, flags, type Globals, resolve } from "./globals.ts"
import { CliIO, type CliIOService } from "./io.ts"

/** The root command: it only carries the global options that every subcommand reads. */
export const root = Command.make("effect-fleet").pipe(Command.withSharedFlags(flags))

export interface Session {
  readonly globals: Globals
  readonly fleet: Fleet.FleetService
  readonly io: CliIOService
  readonly out: (text: string) => void
  readonly err: (text: string) => void
  readonly describe: (error: FleetError) => string
  /** fleetctl's `cachedMachineState`: machines listed once per run, failures ignored. */
  readonly cachedMachine: (id: string) => Effect.Effect<Machine | undefined>
  /** Every machine, uncached. */
  readonly machines: () => Effect.Effect<ReadonlyArray<Machine>, FleetError>
  readonly debug: (text: string) => void
}

const withNewline = (text: string): string => (text.endsWith("\n") ? text : `${text}\n`)

export const globals = Effect.map(root, (raw) => resolve(raw))

const errorContext = (g: Globals, endpoint: string): ErrorContext => {
  if (endpoint.startsWith("unix://")) return { base: displayBase(g), dial: `unix ${endpoint.slice("unix://".length)}` }
  const url = /^[a-z]+:\/\/([^/]+)/i.exec(endpoint)?.[1] ?? ""
  const secure = endpoint.toLowerCase().startsWith("https:")
  const host = url.includes(":") && !url.endsWith("]") ? url : `${url}:${secure ? 443 : 80}`
  return { base: displayBase(g), dial: `tcp ${host}` }
}

/**
 * Runs `body` with a client, as fleetctl's `runWrapper`: builds the client (or prints why not and exits 1), runs the
 * command and exits with its code.
 */
export const withSession = <R>(
  body: (session: Session) => Effect.Effect<number, never, R>
): Effect.Effect<void, never, Exclude<R, Fleet.Fleet> | CliIO | Command.CommandContext<"effect-fleet">> =>
  Effect.gen(function* () {
    const g = yield* globals
    const io = yield* CliIO
    const err = (text: string) => io.stderr(withNewline(text))
    const context = Layer.build(fleetLayer(g))
    const code = yield* Effect.scoped(
      Effect.gen(function* () {
        const built = yield* Effect.result(context)
        if (built._tag === "Failure") {
          err(`Unable to initialize client: ${built.failure.message}`)
          return 1
        }
        const fleet = Context.get(built.success, Fleet.Fleet)
        const endpoint = yield* Effect.orDie(checkEndpoint(g))
        const ctx = errorContext(g, endpoint)
        const machines = () => Stream.runCollect(fleet.listMachines())
        // Listed once, shared by concurrent waits; a failure means "no machine known", as in fleetctl.
        const machineMap = yield* Effect.cached(
          Effect.map(Effect.result(machines()), (listed) =>
            listed._tag === "Failure" ? new Map<string, Machine>() : new Map(listed.success.map((m) => [m.id, m]))
          )
        )
        const session: Session = {
          globals: g,
          fleet,
          io,
          out: (text) => io.stdout(withNewline(text)),
          err,
          describe: (error) => errorText(error, ctx),
          machines,
          cachedMachine: (id) => Effect.map(machineMap, (map) => map.get(id)),
          debug: (text) => {
            if (g.debug) err(`${new Date().toISOString()} DEBUG ${text}`)
          }
        }
        return yield* body(session)
      })
    )
    io.exitCode = code
  }) as never
