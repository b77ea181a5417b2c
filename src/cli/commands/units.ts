/**
 * `submit`, `load`, `start`, `stop`, `unload`, `restart`, `destroy`: fleetctl's commands over `FleetUnits`, printing
 * fleetctl's lines (`Unit x launched on ...`, `Triggered unit x start`, `Destroyed x`) and messages, with its exit
 * codes.
 *
 * @internal
 */
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Effect from "effect/Effect"
import * as Fleet from "../../Fleet.ts"
import * as FleetUnits from "../../FleetUnits.ts"
import { machineFullLegend } from "../fleetctl.ts"
import { type Session, withSession } from "../session.ts"

const units = Argument.String("UNIT").pipe(
  Argument.withDescription("Unit names or unit file paths (web@1, web@1.service, units/web@.service ...)"),
  Argument.variadic()
)

const blockAttempts = (what: string) =>
  Flag.Int("block-attempts").pipe(
    Flag.withDescription(
      `Wait until the units are ${what}, performing up to N attempts (2 s each) before giving up. A value of 0 indicates no limit. Does not apply to global units.`
    ),
    Flag.withDefault(0)
  )

const noBlock = (what: string) =>
  Flag.Boolean("no-block").pipe(
    Flag.withDescription(`Do not wait until the units have ${what} before exiting. Always the case for global units.`),
    Flag.withDefault(false)
  )

const replace = (what: string) =>
  Flag.Boolean("replace").pipe(
    Flag.withDescription(`Replace the ${what} units in the cluster with new versions.`),
    Flag.withDefault(false)
  )

// fleetctl checks --sign before parsing its flags, so it is accepted and ignored; here too.
const sign = Flag.Boolean("sign").pipe(
  Flag.withDescription("DEPRECATED - this option cannot be used (accepted and ignored, as by fleetctl)"),
  Flag.withDefault(false)
)

// Go prints a []string as [a b c].
const goList = (names: ReadonlyArray<string>): string => `[${names.join(" ")}]`

/** The FleetUnits options a command runs with: its flags, and its events printed as fleetctl's lines. */
const optionsFor = (
  session: Session,
  flags: { readonly blockAttempts?: number; readonly noBlock?: boolean; readonly replace?: boolean }
): FleetUnits.Options => ({
  blockAttempts: flags.blockAttempts ?? 0,
  noBlock: flags.noBlock === true,
  replace: flags.replace === true,
  describe: session.describe,
  onProgress: (progress) =>
    Effect.gen(function* () {
      switch (progress._tag) {
        case "Reached": {
          let line = `Unit ${progress.name} ${progress.unit.currentState ?? ""}`
          const id = progress.unit.machineID
          if (id !== undefined && id !== "") {
            const machine = yield* session.cachedMachine(id)
            if (machine !== undefined) line += ` on ${machineFullLegend(machine, false)}`
          }
          session.out(line)
          return
        }
        case "Triggered":
          session.out(`Triggered ${progress.global ? "global unit" : "unit"} ${progress.name} ${progress.action}`)
          return
        case "Destroyed":
          session.out(`Destroyed ${progress.name}`)
          return
        case "Warning":
        case "Skipped":
          session.err(progress.message)
          return
        case "Waiting":
          if (session.io.isTTY)
            session.io.stderr(`\r\u001b[2KWaiting for ${progress.name} (${progress.seen || "no state"})`)
          return
        case "Created":
          session.debug(`Created Unit(${progress.name}) in Registry`)
          return
      }
    })
})

const clearProgress = (session: Session) => {
  if (session.io.isTTY) session.io.stderr("\r\u001b[2K")
}

const run = (
  session: Session,
  effect: Effect.Effect<number, FleetUnits.UnitsError, Fleet.Fleet>,
  onError: (error: FleetUnits.UnitsError) => number
): Effect.Effect<number> =>
  effect.pipe(
    Effect.catchTag("UnitsError", (error) => Effect.sync(() => onError(error))),
    Effect.tap(() => Effect.sync(() => clearProgress(session))),
    Effect.provideService(Fleet.Fleet, session.fleet)
  )

const createError = (session: Session, error: FleetUnits.UnitsError): number => {
  if (error.message.startsWith("Error waiting on unit creation: ")) {
    for (const line of error.message.split("\n")) session.err(line)
    session.err("Error creating units: One or more errors creating units")
  } else session.err(`Error creating units: ${error.message}`)
  return 1
}

const noUnits = (session: Session, args: ReadonlyArray<string>): boolean => {
  if (args.length > 0) return false
  session.err("No units given")
  return true
}

export const submit = Command.make("submit", { sign, replace: replace("old submitted"), units }, (flags) =>
  withSession((session) => {
    if (noUnits(session, flags.units)) return Effect.succeed(0)
    return run(
      session,
      Effect.as(FleetUnits.submit(flags.units, { ...optionsFor(session, flags), command: "submit" }), 0),
      (error) => createError(session, error)
    )
  })
).pipe(
  Command.withDescription(
    "Upload one or more units to the cluster without starting them. Idempotent: a unit already in the cluster is not" +
      " resubmitted (a WARNING says when its local file differs; --replace resubmits it). A name with no local file" +
      " that is an instance (app@1.service) is made from the local app@.service or the cluster's template."
  ),
  Command.withShortDescription("Upload one or more units to the cluster without starting them")
)

const scheduled =
  (action: "load" | "start") =>
  (error: FleetUnits.UnitsError, session: Session): number => {
    switch (error.stage) {
      case "create":
        return createError(session, error)
      case "state":
        session.err(`Error ${action === "load" ? "loading" : "starting"} units: ${error.message}`)
        return 1
      case "systemd":
        session.err(`Error waiting for units: ${error.message}`)
        session.err(`Error waiting for systemd unit states, err: ${error.message}`)
        return 1
      default:
        session.err(`Error waiting for units: ${error.message}`)
        session.err(`Error waiting for unit states, exit status: ${error.message}`)
        return 1
    }
  }

export const load = Command.make(
  "load",
  {
    sign,
    blockAttempts: blockAttempts("loaded"),
    noBlock: noBlock("been loaded"),
    replace: replace("old scheduled"),
    units
  },
  (flags) =>
    withSession((session) => {
      if (noUnits(session, flags.units)) return Effect.succeed(0)
      return run(session, Effect.as(FleetUnits.load(flags.units, optionsFor(session, flags)), 0), (error) =>
        scheduled("load")(error, session)
      )
    })
).pipe(
  Command.withDescription(
    "Schedule one or more units in the cluster, first submitting them if necessary. Blocks until non-global units" +
      " are loaded (--block-attempts, --no-block)."
  ),
  Command.withShortDescription("Schedule one or more units in the cluster, first submitting them if necessary.")
)

export const start = Command.make(
  "start",
  {
    sign,
    blockAttempts: blockAttempts("launched"),
    noBlock: noBlock("launched"),
    replace: replace("already started"),
    units
  },
  (flags) =>
    withSession((session) => {
      if (noUnits(session, flags.units)) return Effect.succeed(0)
      return run(session, Effect.as(FleetUnits.start(flags.units, optionsFor(session, flags)), 0), (error) =>
        scheduled("start")(error, session)
      )
    })
).pipe(
  Command.withDescription(
    "Instruct systemd to start one or more units in the cluster, first submitting and loading if necessary. Blocks" +
      " until non-global units are launched and systemd reports them active (--block-attempts, --no-block)."
  ),
  Command.withShortDescription(
    "Instruct systemd to start one or more units in the cluster, first submitting and loading if necessary."
  )
)

const unscheduleCommand = (action: "stop" | "unload") =>
  Command.make(
    action,
    {
      blockAttempts: blockAttempts(action === "stop" ? "stopped" : "inactive"),
      noBlock: noBlock(action === "stop" ? "stopped" : "become inactive"),
      units
    },
    (flags) =>
      withSession((session) => {
        if (noUnits(session, flags.units)) return Effect.succeed(0)
        const operation = action === "stop" ? FleetUnits.stop : FleetUnits.unload
        return run(
          session,
          Effect.map(operation(flags.units, optionsFor(session, flags)), (result) => {
            if (result.found === 0) {
              session.err("Units not found in registry")
              return 0
            }
            if (result.refused !== undefined) {
              session.err(`Unable to stop unit ${result.refused.name} in state ${result.refused.state}`)
              return 1
            }
            const past = action === "stop" ? "stopped" : "unloaded"
            if (result.waitError !== undefined) {
              session.err(`Error waiting for units: ${result.waitError.message}`)
              session.err(`Failed to ${action} units ${goList(result.waited)}. err: ${result.waitError.message}`)
              return 1
            }
            session.err(`Successfully ${past} units ${goList(result.waited)}.`)
            return 0
          }),
          (error) => {
            session.err(error.message)
            return 1
          }
        )
      })
  )

export const stop = unscheduleCommand("stop").pipe(
  Command.withDescription(
    "Instruct systemd to stop one or more units in the cluster (they stay scheduled and can be started again). Blocks" +
      " until non-global units are loaded but stopped (--block-attempts, --no-block)."
  ),
  Command.withShortDescription("Instruct systemd to stop one or more units in the cluster.")
)

export const unload = unscheduleCommand("unload").pipe(
  Command.withDescription(
    "Unschedule one or more units in the cluster. Blocks until they are inactive (--block-attempts, --no-block)."
  ),
  Command.withShortDescription("Unschedule one or more units in the cluster.")
)

export const destroy = Command.make(
  "destroy",
  { blockAttempts: blockAttempts("destroyed"), noBlock: noBlock("been destroyed"), units },
  (flags) =>
    withSession((session) => {
      if (noUnits(session, flags.units)) return Effect.succeed(0)
      return run(
        session,
        Effect.map(FleetUnits.destroy(flags.units, optionsFor(session, flags)), (result) => {
          if (result.found === 0) {
            session.err("Units not found in registry")
            return 0
          }
          return result.failures.length > 0 ? 1 : 0
        }),
        (error) => {
          session.err(error.message)
          return 1
        }
      )
    })
).pipe(
  Command.withDescription(
    "Destroy one or more units in the cluster: remove them completely (systemd stops them on their machines)." +
      " Destroyed units cannot be started again unless resubmitted."
  ),
  Command.withShortDescription("Destroy one or more units in the cluster")
)

export const restart = Command.make("restart", { blockAttempts: blockAttempts("stopped/started"), units }, (flags) =>
  withSession((session) => {
    if (noUnits(session, flags.units)) return Effect.succeed(0)
    return run(
      session,
      Effect.gen(function* () {
        const result = yield* FleetUnits.restart(flags.units, optionsFor(session, flags))
        // fleetctl restarts global units with `systemctl restart` on the machine each one names, over SSH.
        for (const unit of result.global) {
          const machine = unit.machineID === undefined ? undefined : yield* session.cachedMachine(unit.machineID)
          if (machine === undefined || machine.primaryIP === undefined || machine.primaryIP === "") continue
          const { runCommand } = yield* Effect.promise(() => import("./remote.ts"))
          const code = yield* runCommand(session, machine.id, 22, "systemctl", ["restart", unit.name])
          if (code !== 0) {
            session.err(
              `Error restarting global units ${goList(result.global.map((u) => u.name))} err:Error running systemctl restart. machine id=${machine.id}, unit name=${unit.name}`
            )
            return 1
          }
        }
        return 0
      }),
      (error) => {
        if (error.stage === "create") return createError(session, error)
        if (error.stage === "wait") {
          session.err(`Error waiting for units: ${error.message}`)
          session.err(`Error waiting for unit states, exit status: ${error.message}`)
        } else session.err(error.message)
        return 1
      }
    )
  })
).pipe(
  Command.withDescription(
    "Instruct systemd to rolling restart one or more units in the cluster: stop then start each launched unit (a" +
      " loaded one is started), waiting for each step (--block-attempts)."
  ),
  Command.withShortDescription("Instruct systemd to rolling restart one or more units in the cluster.")
)
