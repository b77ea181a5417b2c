/**
 * The `effect-fleet` command line: fleetctl's commands with fleetctl's flags, output and exit codes, the commands
 * fleetctl lacks, and `serve`.
 *
 * @internal
 */
import * as Command from "effect/cli/Command"
import { apply, machineMetadata, wait } from "./commands/extra.ts"
import { fdForward, journal, ssh, status } from "./commands/remote.ts"
import { listMachines, listUnitFiles, listUnits } from "./commands/list.ts"
import { cat, verify, version, versionCommand } from "./commands/simple.ts"
import { destroy, load, restart, start, stop, submit, unload } from "./commands/units.ts"
import { serve } from "./serve.ts"
import { root } from "./session.ts"

export const command = root.pipe(
  Command.withDescription(
    "effect-fleet is a command-line interface to fleet, the cluster-wide CoreOS init system, over fleet's v1 API" +
      " (fleetctl's commands, flags and output; every global option also reads its FLEETCTL_* variable)"
  ),
  Command.withSubcommands([
    cat,
    destroy,
    fdForward,
    journal,
    listMachines,
    listUnitFiles,
    listUnits,
    load,
    restart,
    ssh,
    start,
    status,
    stop,
    submit,
    unload,
    verify,
    versionCommand,
    apply,
    machineMetadata,
    wait,
    serve
  ])
)

// fleetctl's `-l` is a pflag long flag named "l": it is spelled `--l` (and `--h` for help). Both spellings work here.
const fleetctlSpellings = (argv: ReadonlyArray<string>): ReadonlyArray<string> =>
  argv.map((arg) => (arg === "--l" ? "--full" : arg === "--h" ? "--help" : arg))

/** Runs the command line `argv` (without the program name). The exit code is left in `CliIO.exitCode`. */
export const run = (argv: ReadonlyArray<string>) => Command.runWith(command, { version })(fleetctlSpellings(argv))
