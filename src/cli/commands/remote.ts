/**
 * `status`, `journal`, `ssh` and `fd-forward`: fleetctl's commands that reach a unit's machine over SSH (or run
 * locally on that machine). The SSH code is imported only when one of them runs.
 *
 * @internal
 */
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { FleetUnit } from "../../Unit.ts"
import { unitIsGlobal, unitNameMangle } from "../fleetctl.ts"
import { CliIO } from "../io.ts"
import * as Output from "../output.ts"
import { type Session, withSession } from "../session.ts"

const loadRemote = Effect.promise(() => import("../remote.ts"))

const sshPort = Flag.Int("ssh-port").pipe(
  Flag.withDescription("Connect to remote hosts over SSH using this TCP port."),
  Flag.withDefault(22)
)

// fleetctl's findSSHPort: a port other than 22 is added to an address that has none.
const withPort = (addr: string, port: number): string => (port !== 22 && !addr.includes(":") ? `${addr}:${port}` : addr)

const getUnit = (session: Session, name: string) =>
  session.fleet.getUnit(name).pipe(
    Effect.map((unit): FleetUnit | undefined => unit),
    Effect.catchTag("APIError", (error) => (error.code === 404 ? Effect.succeed(undefined) : Effect.fail(error))),
    Effect.result
  )

/**
 * The named unit, or `undefined` once fleetctl's error is printed: `<failed>: <error>` when it could not be
 * read, `Unit <name> does not exist.` when fleet has no such unit.
 */
const existingUnit = (session: Session, name: string, failed: string) =>
  Effect.map(getUnit(session, name), (unit) => {
    if (unit._tag === "Failure") {
      session.err(`${failed}: ${session.describe(unit.failure)}`)
      return undefined
    }
    if (unit.success === undefined) session.err(`Unit ${name} does not exist.`)
    return unit.success
  })

/** fleetctl's `runCommand`: locally when the machine is this one, else over SSH; the command's exit status. */
export const runCommand = (
  session: Session,
  machineId: string,
  port: number,
  command: string,
  args: ReadonlyArray<string>
) =>
  Effect.gen(function* () {
    const remote = yield* loadRemote
    if (remote.isLocalMachine(machineId)) {
      const ran = yield* Effect.result(remote.runLocal(command, args, session.io))
      if (ran._tag === "Success") return ran.success
      session.err(`Error running local command: ${ran.failure}`)
      return -1
    }
    const machines = yield* Effect.result(session.machines())
    const machine = machines._tag === "Success" ? machines.success.find((m) => m.id === machineId) : undefined
    if (machine === undefined) {
      session.err(
        `Error getting machine IP: ${machines._tag === "Failure" ? session.describe(machines.failure) : "<nil>"}`
      )
      return 0
    }
    const line = [command, ...args.map(remote.goQuote)].join(" ")
    const ran = yield* Effect.result(
      Effect.scoped(
        Effect.flatMap(remote.connect(session.globals, withPort(machine.primaryIP ?? "", port)), (client) =>
          remote.execute(client, line, session.io)
        )
      )
    )
    if (ran._tag === "Success") return ran.success
    session.err(`Unable to SSH to remote host: ${ran.failure}`)
    return -1
  })

export const status = Command.make(
  "status",
  {
    sshPort,
    output: Output.flag,
    units: Argument.String("UNIT").pipe(Argument.withDescription("Units to show"), Argument.variadic())
  },
  (flags) =>
    withSession((session) =>
      Effect.gen(function* () {
        if (flags.output !== "text") {
          // The API's view, no SSH: each unit and the states its machines report.
          const data = []
          for (const arg of flags.units) {
            const name = unitNameMangle(arg)
            const unit = yield* existingUnit(session, name, "Error retrieving unit")
            if (unit === undefined) return 1
            const states = yield* Effect.result(Stream.runCollect(session.fleet.listUnitStates({ unitName: name })))
            if (states._tag === "Failure") {
              session.err(`Error retrieving unit: ${session.describe(states.failure)}`)
              return 1
            }
            data.push({ unit: Output.unitData(unit), states: states.success.map(Output.stateData) })
          }
          session.io.stdout(Output.render(flags.output, data as never))
          return 0
        }
        let exit = 0
        for (const [i, arg] of flags.units.entries()) {
          const name = unitNameMangle(arg)
          const unit = yield* existingUnit(session, name, "Error retrieving unit")
          if (unit === undefined) return 1
          if (unitIsGlobal(unit)) continue
          if (unit.currentState === "inactive") {
            session.err(`Unit ${unit.name} does not appear to be loaded.`)
            return 1
          }
          // This extra newline is fleetctl's, to match systemctl status output.
          if (i !== 0) session.io.stdout("\n")
          const code = yield* runCommand(session, unit.machineID ?? "", flags.sshPort, "systemctl", [
            "status",
            "-l",
            unit.name
          ])
          if (code !== 0) {
            exit = code
            break
          }
        }
        return exit
      })
    )
).pipe(
  Command.withDescription(
    "Output the status of one or more units in the cluster: `systemctl status -l` run on each unit's machine over SSH" +
      " (--tunnel, --ssh-username, --known-hosts-file and --strict-host-key-checking apply). With --output json|yaml," +
      " the unit and its reported states from the API instead, no SSH."
  ),
  Command.withShortDescription("Output the status of one or more units in the cluster")
)

export const journal = Command.make(
  "journal",
  {
    lines: Flag.Int("lines").pipe(Flag.withDescription("Number of recent log lines to return"), Flag.withDefault(10)),
    follow: Flag.Boolean("follow").pipe(
      Flag.withAlias("f"),
      Flag.withDescription("Continuously print new entries as they are appended to the journal."),
      Flag.withDefault(false)
    ),
    sudo: Flag.Boolean("sudo").pipe(Flag.withDescription("Execute journal command with sudo"), Flag.withDefault(false)),
    output: Flag.String("output").pipe(
      Flag.withDescription("Output mode, passed unaltered to journalctl on the remote host"),
      Flag.withDefault("short")
    ),
    sshPort,
    units: Argument.String("UNIT").pipe(Argument.variadic())
  },
  (flags) =>
    withSession((session) =>
      Effect.gen(function* () {
        if (flags.units.length !== 1) {
          session.err("One unit file must be provided.")
          return 1
        }
        const name = unitNameMangle(flags.units[0]!)
        const unit = yield* existingUnit(session, name, `Error retrieving unit ${name}`)
        if (unit === undefined) return 1
        if (unitIsGlobal(unit)) {
          session.err(`Unable to retrieve journal of global unit ${name}.`)
          return 1
        }
        if (unit.currentState === "inactive") {
          session.err(`Unit ${name} does not appear to be running.`)
          return 1
        }
        let command = ["journalctl", "--unit", name, "--no-pager", "-n", String(flags.lines), "--output", flags.output]
        if (flags.sudo) command = ["sudo", ...command]
        if (flags.follow) command.push("-f")
        return yield* runCommand(session, unit.machineID ?? "", flags.sshPort, command[0]!, command.slice(1))
      })
    )
).pipe(
  Command.withDescription(
    "Print the journal of a unit in the cluster to stdout: journalctl run on the unit's machine over SSH" +
      " (--lines, --follow, --sudo, --output as journalctl's). Does not work with global units."
  ),
  Command.withShortDescription("Print the journal of a unit in the cluster to stdout")
)

const machineAddress = (session: Session, lookup: string) =>
  Effect.gen(function* () {
    const listed = yield* Effect.result(session.machines())
    if (listed._tag === "Failure") return { ok: false, error: session.describe(listed.failure), addr: "" }
    const matches = listed.success.filter((m) => m.id.startsWith(lookup))
    if (matches.length > 1) return { ok: false, error: "found more than one machine", addr: "" }
    if (matches.length === 0) return { ok: false, error: "machine does not exist", addr: "" }
    return { ok: true, error: "", addr: matches[0]!.primaryIP ?? "" }
  })

const unitAddress = (session: Session, lookup: string) =>
  Effect.gen(function* () {
    const unit = yield* getUnit(session, unitNameMangle(lookup))
    if (unit._tag === "Failure") return { ok: false, error: session.describe(unit.failure), addr: "" }
    if (unit.success === undefined) return { ok: false, error: "unit does not exist", addr: "" }
    if (unitIsGlobal(unit.success)) return { ok: false, error: "global units unsupported", addr: "" }
    const machine = yield* session.cachedMachine(unit.success.machineID ?? "")
    if (machine?.primaryIP !== undefined && machine.primaryIP !== "") {
      return { ok: true, error: "", addr: machine.primaryIP }
    }
    return { ok: false, error: "", addr: "" }
  })

export const ssh = Command.make(
  "ssh",
  {
    machine: Flag.String("machine").pipe(
      Flag.withDescription("Open SSH connection to a specific machine."),
      Flag.withDefault("")
    ),
    unit: Flag.String("unit").pipe(
      Flag.withDescription("Open SSH connection to machine running provided unit."),
      Flag.withDefault("")
    ),
    forwardAgent: Flag.Boolean("forward-agent").pipe(
      Flag.withAlias("A"),
      Flag.withDescription("Forward local ssh-agent to target machine (not supported yet: refused)."),
      Flag.withDefault(false)
    ),
    sshPort,
    args: Argument.String("MACHINE|UNIT [COMMAND...]").pipe(Argument.variadic())
  },
  (flags) =>
    withSession((session) =>
      Effect.gen(function* () {
        if (flags.unit !== "" && flags.machine !== "") {
          session.err("Both machine and unit flags provided, please specify only one.")
          return 1
        }
        if (flags.forwardAgent) {
          session.err("Unable to proceed: --forward-agent is not supported by effect-fleet")
          return 1
        }
        let args = [...flags.args]
        let found: { readonly ok: boolean; readonly error: string; readonly addr: string }
        if (flags.machine !== "") found = yield* machineAddress(session, flags.machine)
        else if (flags.unit !== "") found = yield* unitAddress(session, flags.unit)
        else if (args.length === 0) found = { ok: false, error: "one machine or unit must be provided", addr: "" }
        else {
          const lookup = args[0]!
          args = args.slice(1)
          const byMachine = yield* machineAddress(session, lookup)
          const byUnit = yield* unitAddress(session, lookup)
          found =
            byMachine.ok && byUnit.ok
              ? {
                  ok: false,
                  error: `ambiguous argument, both machine and unit found for \`${lookup}\`.\nPlease use flag \`-m\` or \`-u\` to refine the search`,
                  addr: ""
                }
              : byMachine.ok
                ? byMachine
                : byUnit.ok
                  ? byUnit
                  : { ok: false, error: "could not find matching unit or machine", addr: "" }
        }
        if (!found.ok && found.error !== "") {
          session.err(`Unable to proceed: ${found.error}`)
          return 1
        }
        if (found.addr === "") {
          session.err("Could not determine address of machine.")
          return 1
        }
        const dashes = args.indexOf("--")
        if (dashes !== -1) args = args.slice(dashes + 1)
        const remote = yield* loadRemote
        const io = yield* CliIO
        return yield* Effect.scoped(
          Effect.gen(function* () {
            const client = yield* Effect.result(remote.connect(session.globals, withPort(found.addr, flags.sshPort)))
            if (client._tag === "Failure") {
              session.err(`Failed building SSH client: ${client.failure}`)
              return 1
            }
            if (args.length > 0) {
              const ran = yield* Effect.result(remote.execute(client.success, args.join(" "), io))
              if (ran._tag === "Success") return ran.success
              session.err(`Failed running command over SSH: ${ran.failure}`)
              return -1
            }
            const opened = yield* Effect.result(remote.shell(client.success, io))
            if (opened._tag === "Success") return 0
            session.err(`Failed opening shell over SSH: ${opened.failure}`)
            return 1
          })
        )
      })
    )
).pipe(
  Command.withDescription(
    "Open an interactive shell (with a pty) on a machine of the cluster, by machine ID or prefix, or on the machine" +
      " running a unit; or run a command there: ssh MACHINE|UNIT [--] COMMAND. --machine and --unit skip the guess."
  ),
  Command.withShortDescription("Open interactive shell on a machine in the cluster")
)

export const fdForward = Command.make(
  "fd-forward",
  { socket: Argument.String("SOCKET").pipe(Argument.withDescription("The unix socket"), Argument.variadic()) },
  (flags) =>
    withSession((session) =>
      Effect.gen(function* () {
        if (flags.socket.length !== 1) {
          session.err("Provide a single argument")
          return 1
        }
        const remote = yield* loadRemote
        return yield* remote.fdForward(flags.socket[0]!, session.io)
      })
    )
).pipe(
  Command.withDescription(
    "Proxy stdin and stdout to a unix domain socket: what a --tunnel to a unix:// endpoint runs on the tunnel host" +
      " (as `fleetctl fd-forward`), so effect-fleet can be that remote end. Not meant to be called by users directly."
  ),
  Command.withShortDescription("Proxy stdin and stdout to a unix domain socket")
)
