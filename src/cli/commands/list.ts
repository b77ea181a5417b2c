/**
 * `list-machines`, `list-units`, `list-unit-files`: fleetctl's tables, columns and messages, plus `--output`.
 *
 * @internal
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Machine } from "../../Machine.ts"
import type { Unit } from "../../Unit.ts"
import type { UnitState } from "../../UnitState.ts"
import {
  formatMetadata,
  machineFullLegend,
  machineIdLegend,
  unitDescription,
  unitHash,
  unitIsGlobal
} from "../fleetctl.ts"
import * as Output from "../output.ts"
import { type Session, withSession } from "../session.ts"
import { tabulate } from "../tabwriter.ts"

type Field<A> = (item: A, full: boolean, session: Session) => Effect.Effect<string>

const pure =
  <A>(f: (item: A, full: boolean) => string): Field<A> =>
  (item, full) =>
    Effect.succeed(f(item, full))

const machineFields: Record<string, Field<Machine>> = {
  machine: pure((m, full) => machineIdLegend(m, full)),
  ip: pure((m) => (m.primaryIP === undefined || m.primaryIP === "" ? "-" : m.primaryIP)),
  metadata: pure((m) =>
    m.metadata === undefined || Object.keys(m.metadata).length === 0 ? "-" : formatMetadata(m.metadata)
  )
}

const machineOf = (id: string, full: boolean, session: Session) =>
  Effect.map(session.cachedMachine(id), (m) => machineFullLegend(m ?? { id }, full))

const stateFields: Record<string, Field<UnitState>> = {
  active: pure((s) => s.systemdActiveState ?? ""),
  hash: pure((s, isFull) => (s.hash === undefined || s.hash === "" ? "-" : isFull ? s.hash : s.hash.slice(0, 7))),
  load: pure((s) => s.systemdLoadState ?? ""),
  machine: (s, isFull, session) =>
    s.machineID === undefined || s.machineID === "" ? Effect.succeed("-") : machineOf(s.machineID, isFull, session),
  sub: pure((s) => s.systemdSubState ?? ""),
  unit: pure((s) => s.name)
}

const target: Field<Unit> = (u, isFull, session) => {
  if (unitIsGlobal(u)) return Effect.succeed("global")
  if (u.machineID === undefined || u.machineID === "") return Effect.succeed("-")
  return machineOf(u.machineID, isFull, session)
}

const unitFields: Record<string, Field<Unit>> = {
  desc: pure((u) => unitDescription(u) || "-"),
  dstate: pure((u) => u.desiredState ?? "-"),
  global: pure((u) => String(unitIsGlobal(u))),
  hash: pure((u, isFull) => (isFull ? unitHash(u) : unitHash(u).slice(0, 7))),
  state: pure((u) => (unitIsGlobal(u) || u.currentState === undefined ? "-" : u.currentState)),
  target,
  tmachine: target,
  unit: pure((u) => u.name ?? "")
}

// Go ranges over a map in random order: fleetctl's list-machines names its fields in no fixed order, the others
// sorted. The help text here is sorted everywhere.
const keys = (fields: Record<string, unknown>) => Object.keys(fields).sort().join(",")

const listFlags = (what: string, defaults: string, fields: Record<string, unknown>, withShort: boolean) => ({
  full: Flag.Boolean("full").pipe(
    withShort ? Flag.withAlias("l") : (f: Flag.Flag<boolean>) => f,
    Flag.withDescription(
      withShort ? "Do not ellipsize fields on output (-l is short for it)" : "Do not ellipsize fields on output"
    ),
    Flag.withDefault(false)
  ),
  noLegend: Flag.Boolean("no-legend").pipe(
    Flag.withDescription("Do not print a legend (column headers)"),
    Flag.withDefault(false)
  ),
  fields: Flag.String("fields").pipe(
    Flag.withDescription(`Columns to print for each ${what}. Valid fields are "${keys(fields)}"`),
    Flag.withDefault(defaults)
  ),
  output: Output.flag
})

interface ListOptions {
  readonly full: boolean
  readonly noLegend: boolean
  readonly fields: string
  readonly output: Output.Format
}

const table = <A>(
  session: Session,
  options: ListOptions,
  fields: Record<string, Field<A>>,
  items: ReadonlyArray<A>,
  data: (a: A) => unknown
): Effect.Effect<number> =>
  Effect.gen(function* () {
    if (options.output !== "text") {
      session.io.stdout(Output.render(options.output, items.map(data) as never))
      return 0
    }
    const cols = options.fields.split(",")
    let text = options.noLegend ? "" : `${cols.join("\t").toUpperCase()}\n`
    for (const item of items) {
      const cells: Array<string> = []
      for (const col of cols) cells.push(yield* fields[col]!(item, options.full, session))
      text += `${cells.join("\t")}\n`
    }
    session.io.stdout(tabulate(text))
    return 0
  })

const checkFields = (
  session: Session,
  fields: string,
  known: Record<string, unknown>,
  warnDeprecated = false
): boolean => {
  if (fields === "") {
    session.err("Must define output format")
    return false
  }
  for (const col of fields.split(",")) {
    if (!(col in known)) {
      session.err(`Invalid key in output format: ${JSON.stringify(col)}`)
      return false
    }
    if (warnDeprecated && col === "tmachine") {
      session.err('WARNING: The "tmachine" field is deprecated. Use "target" instead')
    }
  }
  return true
}

export const listMachines = Command.make(
  "list-machines",
  listFlags("Machine", "machine,ip,metadata", machineFields, true),
  (options) =>
    withSession((session) =>
      Effect.gen(function* () {
        if (!checkFields(session, options.fields, machineFields)) return 1
        const machines = yield* Effect.result(session.machines())
        if (machines._tag === "Failure") {
          session.err(`Error retrieving list of active machines from fleet API (${session.describe(machines.failure)})`)
          session.err("Possible issues:")
          session.err("  etcd is unhealthy and/or lost quorum")
          session.err("  connection cannot be established to any etcd servers")
          return 1
        }
        return yield* table(session, options, machineFields, machines.success, Output.machineData)
      })
    )
).pipe(
  Command.withDescription(
    "Enumerate the current hosts in the cluster. Lists all active machines within the cluster; previously active" +
      " machines do not appear."
  ),
  Command.withShortDescription("Enumerate the current hosts in the cluster")
)

export const listUnits = Command.make(
  "list-units",
  listFlags("Unit", "unit,machine,active,sub", stateFields, true),
  (options) =>
    withSession((session) =>
      Effect.gen(function* () {
        if (!checkFields(session, options.fields, stateFields)) return 1
        const states = yield* Effect.result(Stream.runCollect(session.fleet.listUnitStates()))
        if (states._tag === "Failure") {
          session.err(`Error retrieving list of units from repository: ${session.describe(states.failure)}`)
          return 1
        }
        return yield* table(session, options, stateFields, states.success, Output.stateData)
      })
    )
).pipe(
  Command.withDescription(
    "List the current state of units in the cluster: the state of every unit loaded onto a machine, as its" +
      " machine's agent reports it."
  ),
  Command.withShortDescription("List the current state of units in the cluster")
)

export const listUnitFiles = Command.make(
  "list-unit-files",
  listFlags("Unit file", "unit,hash,dstate,state,target", unitFields, false),
  (options) =>
    withSession((session) =>
      Effect.gen(function* () {
        if (!checkFields(session, options.fields, unitFields, true)) return 1
        const units = yield* Effect.result(Stream.runCollect(session.fleet.listUnits()))
        if (units._tag === "Failure") {
          session.err(`Error retrieving list of units from repository: ${session.describe(units.failure)}`)
          return 1
        }
        return yield* table(session, options, unitFields, units.success, Output.unitData)
      })
    )
).pipe(
  Command.withDescription(
    "List the units that exist in the cluster: every unit file submitted, whether or not it is loaded onto a machine."
  ),
  Command.withShortDescription("List the units that exist in the cluster.")
)
