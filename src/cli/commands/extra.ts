/**
 * What fleetctl lacks: `wait` (many units, every failure reported, systemd sub-states), `apply` (declarative, by
 * unit hash) and `machine-metadata` (fleet's `PATCH /fleet/v1/machines`).
 *
 * @internal
 */
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Fleet from "../../Fleet.ts"
import * as FleetUnits from "../../FleetUnits.ts"
import type { MetadataOp } from "../../Machine.ts"
import { type DesiredState, type FleetUnit, Unit, UnitOption } from "../../Unit.ts"
import * as UnitFile from "../../UnitFile.ts"
import { isGlobal } from "../../internal/unitRules.ts"
import { formatMetadata, machineFullLegend } from "../fleetctl.ts"
import * as Output from "../output.ts"
import { type Session, withSession } from "../session.ts"

const units = Argument.String("UNIT").pipe(
  Argument.withDescription("Unit names (web@1 is web@1.service)"),
  Argument.variadic()
)

const goUnits: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Go's `time.ParseDuration` (`90s`, `1m30s`, `500ms`), and a bare number of seconds. Milliseconds, or undefined. */
export const parseDuration = (text: string): number | undefined => {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000
  if (!/^((\d+(\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined
  let total = 0
  for (const match of text.matchAll(/(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(match[1]) * goUnits[match[2]!]!
  }
  return total
}

const reachedLine = (session: Session, name: string, shown: string, unit: FleetUnit | Unit) =>
  Effect.gen(function* () {
    let line = `Unit ${name} ${shown}`
    if (unit.machineID !== undefined && unit.machineID !== "") {
      const machine = yield* session.cachedMachine(unit.machineID)
      if (machine !== undefined) line += ` on ${machineFullLegend(machine, false)}`
    }
    session.out(line)
  })

const waitingLine = (session: Session) => (progress: FleetUnits.Progress) =>
  Effect.sync(() => {
    if (progress._tag === "Waiting" && session.io.isTTY) {
      session.io.stderr(`\r\u001b[2KWaiting for ${progress.name}: ${progress.seen}`)
    }
  })

const clearLine = (session: Session) => {
  if (session.io.isTTY) session.io.stderr("\r\u001b[2K")
}

export const wait = Command.make(
  "wait",
  {
    state: Flag.String("state").pipe(
      Flag.withDescription(
        "What to wait for: a fleet state (inactive, loaded, launched) or a systemd active or sub-state of the unit on" +
          " its machine (active, failed, running, exited, dead ...)"
      ),
      Flag.withDefault("launched")
    ),
    timeout: Flag.String("timeout").pipe(
      Flag.withDescription("How long to wait for all of them: 90s, 1m30s, 500ms, or seconds (default 60s)"),
      Flag.withDefault("60s")
    ),
    units
  },
  (flags) =>
    withSession((session) =>
      Effect.gen(function* () {
        if (flags.units.length === 0) {
          session.err("No units given")
          return 1
        }
        const timeout = parseDuration(flags.timeout)
        if (timeout === undefined) {
          session.err(
            `Invalid --timeout ${JSON.stringify(flags.timeout)}: expected a duration such as 60s, 1m30s or 500ms`
          )
          return 1
        }
        const names = flags.units.map(FleetUnits.unitName)
        const result = yield* FleetUnits.waitAll(names, flags.state, {
          timeout: `${timeout} millis`,
          onProgress: (progress) =>
            progress._tag === "Reached"
              ? Effect.andThen(
                  Effect.sync(() => clearLine(session)),
                  reachedLine(session, progress.name, flags.state, progress.unit)
                )
              : waitingLine(session)(progress)
        }).pipe(Effect.provideService(Fleet.Fleet, session.fleet), Effect.result)
        clearLine(session)
        if (result._tag === "Success") return 0
        const error = result.failure
        if (error._tag === "WaitAllError") {
          for (const failure of error.failures) {
            session.err(`Unit ${failure.unit} did not reach ${flags.state}: ${failure.lastSeen}`)
          }
          session.err(
            `Error waiting for units: ${error.failures.length} of ${names.length} did not reach ${flags.state} within ${flags.timeout}`
          )
          return 1
        }
        session.err(`Error waiting for units: ${session.describe(error)}`)
        return 1
      })
    )
).pipe(
  Command.withDescription(
    "Wait until every unit reaches a state (not a fleetctl command): a fleet state or a systemd state such as" +
      " running. Reports every unit that did not make it in time, exit 1; exit 0 when all did."
  ),
  Command.withShortDescription("Wait for units to reach a fleet or systemd state (every failure reported)")
)

// -----------------------------------------------------------------------------
// apply
// -----------------------------------------------------------------------------

const unitTypes = /\.(service|socket|timer|path|device|mount|automount|target)$/

interface LocalUnit {
  readonly name: string
  readonly file: string
  readonly options: ReadonlyArray<UnitFile.Option>
  readonly hash: string
  readonly template: boolean
  readonly global: boolean
}

type Change =
  | { readonly _tag: "Create"; readonly local: LocalUnit; readonly state: DesiredState }
  | { readonly _tag: "Replace"; readonly local: LocalUnit; readonly state: DesiredState; readonly from: FleetUnit }
  | { readonly _tag: "SetState"; readonly name: string; readonly from: string; readonly state: DesiredState }
  | { readonly _tag: "Destroy"; readonly unit: FleetUnit }

const readLocalUnits = (paths: ReadonlyArray<string>): { units: Array<LocalUnit>; errors: Array<string> } => {
  const files: Array<string> = []
  const errors: Array<string> = []
  for (const p of paths) {
    let stat: fs.Stats
    try {
      stat = fs.statSync(p)
    } catch {
      errors.push(`${p}: no such file or directory`)
      continue
    }
    if (stat.isDirectory()) {
      for (const entry of fs.readdirSync(p).sort()) {
        if (unitTypes.test(entry) && fs.statSync(nodePath.join(p, entry)).isFile()) files.push(nodePath.join(p, entry))
      }
    } else files.push(p)
  }
  const units: Array<LocalUnit> = []
  const seen = new Set<string>()
  for (const file of files) {
    const name = nodePath.basename(file)
    if (seen.has(name)) {
      errors.push(`${file}: unit ${name} is given twice`)
      continue
    }
    seen.add(name)
    const parsed = UnitFile.parseResult(fs.readFileSync(file, "utf8"))
    if (parsed._tag === "Failure") {
      errors.push(`${file}: ${parsed.failure.message}`)
      continue
    }
    const options = parsed.success
    units.push({
      name,
      file,
      options,
      hash: UnitFile.hash(options),
      template: FleetUnits.templateOf(name) === undefined && /@\.[a-z]+$/.test(name),
      global: isGlobal(options)
    })
  }
  return { units, errors }
}

const planChanges = (
  local: ReadonlyArray<LocalUnit>,
  cluster: ReadonlyArray<FleetUnit>,
  target: DesiredState,
  prune: boolean
): Array<Change> => {
  const byName = new Map(cluster.map((u) => [u.name, u]))
  const changes: Array<Change> = []
  for (const unit of local) {
    const state: DesiredState = unit.template ? "inactive" : target
    const existing = byName.get(unit.name)
    if (existing === undefined) changes.push({ _tag: "Create", local: unit, state })
    else if (UnitFile.hash(existing.options) !== unit.hash) {
      changes.push({ _tag: "Replace", local: unit, state, from: existing })
    } else if (existing.desiredState !== state) {
      changes.push({ _tag: "SetState", name: unit.name, from: existing.desiredState ?? "-", state })
    }
  }
  if (prune) {
    const names = new Set(local.map((u) => u.name))
    for (const unit of cluster) if (!names.has(unit.name)) changes.push({ _tag: "Destroy", unit })
  }
  return changes
}

const describeChange = (change: Change): string => {
  switch (change._tag) {
    case "Create":
      return `+ create ${change.local.name} (${change.state}, hash ${change.local.hash.slice(0, 7)})`
    case "Replace":
      return `~ replace ${change.local.name} (${change.from.desiredState ?? "-"} -> ${change.state}, hash ${UnitFile.hash(change.from.options).slice(0, 7)} -> ${change.local.hash.slice(0, 7)})`
    case "SetState":
      return `> ${change.name}: ${change.from} -> ${change.state}`
    case "Destroy":
      return `- destroy ${change.unit.name}`
  }
}

const planData = (changes: ReadonlyArray<Change>) =>
  changes.map((change) => {
    switch (change._tag) {
      case "Create":
        return { action: "create", name: change.local.name, desiredState: change.state, hash: change.local.hash }
      case "Replace":
        return {
          action: "replace",
          name: change.local.name,
          desiredState: change.state,
          hash: change.local.hash,
          previousHash: UnitFile.hash(change.from.options)
        }
      case "SetState":
        return { action: "setState", name: change.name, desiredState: change.state, previousState: change.from }
      default:
        return { action: "destroy", name: change.unit.name }
    }
  })

export const apply = Command.make(
  "apply",
  {
    prune: Flag.Boolean("prune").pipe(
      Flag.withDescription("Also destroy units in the cluster that are not among the local files"),
      Flag.withDefault(false)
    ),
    dryRun: Flag.Boolean("dry-run").pipe(
      Flag.withDescription("Print the plan only (exit 0: nothing to do, 2: changes pending)"),
      Flag.withDefault(false)
    ),
    state: Flag.Literals("state", ["inactive", "loaded", "launched"]).pipe(
      Flag.withDescription("The desired state of every local unit (templates stay inactive)"),
      Flag.withDefault("launched" as DesiredState)
    ),
    blockAttempts: Flag.Int("block-attempts").pipe(
      Flag.withDescription("As fleetctl's: attempts of 2 s each to wait for each unit's state (0: no limit)"),
      Flag.withDefault(0)
    ),
    noBlock: Flag.Boolean("no-block").pipe(
      Flag.withDescription("Do not wait for the units to reach their states"),
      Flag.withDefault(false)
    ),
    output: Output.flag,
    paths: Argument.String("DIR|FILE").pipe(
      Argument.withDescription("A directory of unit files (*.service, *.socket, ...) or unit files"),
      Argument.variadic({ min: 1 })
    )
  },
  (flags) =>
    withSession((session) =>
      Effect.gen(function* () {
        const { units: local, errors } = readLocalUnits(flags.paths)
        if (errors.length > 0) {
          for (const error of errors) session.err(`Error reading unit files: ${error}`)
          return 1
        }
        const cluster = yield* Effect.result(Stream.runCollect(session.fleet.listUnits()))
        if (cluster._tag === "Failure") {
          session.err(`Error retrieving list of units from repository: ${session.describe(cluster.failure)}`)
          return 1
        }
        const changes = planChanges(local, cluster.success, flags.state, flags.prune)
        if (flags.output !== "text") session.io.stdout(Output.render(flags.output, planData(changes) as never))
        else if (changes.length === 0) session.out("Nothing to do: the cluster matches the unit files.")
        else {
          for (const change of changes) session.out(describeChange(change))
          const count = (tag: Change["_tag"]) => changes.filter((c) => c._tag === tag).length
          session.out(
            `Plan: ${count("Create")} to create, ${count("Replace")} to replace, ${count("SetState")} to change state,` +
              ` ${count("Destroy")} to destroy.`
          )
        }
        if (changes.length === 0) return 0
        if (flags.dryRun) return 2
        const fleet = session.fleet
        const waitFor: Map<DesiredState, Array<string>> = new Map()
        const awaited = (name: string, state: DesiredState, global: boolean, template: boolean) => {
          if (global || template) return
          waitFor.set(state, [...(waitFor.get(state) ?? []), name])
        }
        for (const change of changes) {
          const step: Effect.Effect<void, unknown> =
            change._tag === "Create" || change._tag === "Replace"
              ? Effect.asVoid(
                  fleet.createUnit(
                    change.local.name,
                    new Unit({
                      options: change.local.options.map((o) => new UnitOption(o)),
                      desiredState: change.state
                    })
                  )
                )
              : change._tag === "SetState"
                ? Effect.asVoid(fleet.setUnitDesiredState(change.name, change.state))
                : fleet.destroyUnit(change.unit.name)
          const done = yield* Effect.result(step)
          if (done._tag === "Failure") {
            const error = done.failure as Parameters<Session["describe"]>[0]
            session.err(`Error applying ${describeChange(change)}: ${session.describe(error)}`)
            return 1
          }
          if (change._tag === "Destroy") session.out(`Destroyed ${change.unit.name}`)
          else if (change._tag === "SetState") awaited(change.name, change.state, false, false)
          else awaited(change.local.name, change.state, change.local.global, change.local.template)
        }
        const options: FleetUnits.Options = {
          blockAttempts: flags.blockAttempts,
          noBlock: flags.noBlock,
          describe: session.describe,
          onProgress: (progress) =>
            progress._tag === "Reached"
              ? reachedLine(session, progress.name, progress.unit.currentState ?? "", progress.unit)
              : progress._tag === "Triggered"
                ? Effect.sync(() => session.out(`Triggered unit ${progress.name} ${progress.action}`))
                : waitingLine(session)(progress)
        }
        for (const [state, names] of waitFor) {
          const waited = yield* Effect.result(
            FleetUnits.waitForStates(
              names,
              state,
              state === "launched" ? "start" : state === "loaded" ? "load" : "unload",
              options
            ).pipe(Effect.provideService(Fleet.Fleet, fleet))
          )
          clearLine(session)
          if (waited._tag === "Failure") {
            session.err(`Error waiting for units: ${waited.failure.message}`)
            return 1
          }
        }
        return 2
      })
    )
).pipe(
  Command.withDescription(
    "Make the cluster match a directory of unit files (not a fleetctl command): compares them with the cluster by" +
      " unit hash, prints the plan (create, replace, desired-state changes, and with --prune destroy), then applies" +
      " it and waits as fleetctl does. Exit 0: nothing to change; 2: changes made (or pending, with --dry-run); 1:" +
      " an error."
  ),
  Command.withShortDescription("Make the cluster match local unit files (plan by unit hash, --prune, --dry-run)")
)

// -----------------------------------------------------------------------------
// machine-metadata
// -----------------------------------------------------------------------------

export const machineMetadata = Command.make(
  "machine-metadata",
  {
    remove: Flag.String("remove").pipe(Flag.withDescription("A key to remove (repeatable)"), Flag.atLeast(0)),
    machine: Argument.String("MACHINE").pipe(Argument.withDescription("A machine ID or a unique prefix of one")),
    pairs: Argument.String("KEY=VALUE").pipe(Argument.withDescription("Keys to set"), Argument.variadic())
  },
  (flags) =>
    withSession((session) =>
      Effect.gen(function* () {
        const listed = yield* Effect.result(session.machines())
        if (listed._tag === "Failure") {
          session.err(`Error retrieving list of active machines from fleet API (${session.describe(listed.failure)})`)
          return 1
        }
        const matches = listed.success.filter((m) => m.id === flags.machine || m.id.startsWith(flags.machine))
        const exact = matches.find((m) => m.id === flags.machine)
        const machine = exact ?? (matches.length === 1 ? matches[0] : undefined)
        if (machine === undefined) {
          session.err(
            matches.length === 0
              ? `Machine ${flags.machine} not found`
              : `Machine prefix ${flags.machine} is ambiguous: ${matches.map((m) => m.id).join(", ")}`
          )
          return 1
        }
        const ops: Array<MetadataOp> = []
        for (const pair of flags.pairs) {
          const eq = pair.indexOf("=")
          if (eq <= 0) {
            session.err(`Invalid metadata ${JSON.stringify(pair)}: expected key=value`)
            return 1
          }
          ops.push({ op: "add", machineId: machine.id, key: pair.slice(0, eq), value: pair.slice(eq + 1) })
        }
        for (const key of flags.remove) ops.push({ op: "remove", machineId: machine.id, key })
        if (ops.length > 0) {
          const patched = yield* Effect.result(session.fleet.patchMachineMetadata(ops))
          if (patched._tag === "Failure") {
            session.err(`Error setting machine metadata: ${session.describe(patched.failure)}`)
            return 1
          }
        }
        const after = yield* Effect.result(session.machines())
        const now = after._tag === "Success" ? after.success.find((m) => m.id === machine.id) : undefined
        const metadata = now?.metadata ?? {}
        session.out(`${machine.id}\t${Object.keys(metadata).length === 0 ? "-" : formatMetadata(metadata)}`)
        return 0
      })
    )
).pipe(
  Command.withDescription(
    "Show, set or remove a machine's metadata through fleet's PATCH /fleet/v1/machines (not a fleetctl command):" +
      " machine-metadata MACHINE [key=value ...] [--remove key ...]. Prints the machine's metadata afterwards."
  ),
  Command.withShortDescription("Set or remove machine metadata (fleet's PATCH /fleet/v1/machines)")
)
