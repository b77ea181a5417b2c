/**
 * Differential suite, fleetctl: fleet's own fleetctl run against fleet's real handler (over etcd) and against the
 * local server, from the same seed, command by command; what it prints (stdout, stderr, exit code) must match.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import {
  fleetctl,
  type FleetctlRun,
  fleetctlSkipReason,
  normalizeFleetctl,
  type Pair,
  startPair
} from "./support/fleetRef.ts"
import { clusterSeed } from "./support/fidelityScenarios.ts"

const unitFiles: Record<string, string> = {
  "web.service": "[Unit]\nDescription=Web\n\n[Service]\nExecStart=/usr/bin/web --port 80\n",
  "api@.service":
    "[Unit]\nDescription=API %i\n\n[Service]\nExecStart=/usr/bin/api %i\n\n[X-Fleet]\nConflicts=api@*.service\n",
  "pinned.timer": `[Timer]\nOnCalendar=daily\n\n[X-Fleet]\nMachineID=2c7f2ad9a1d54b1c9d1e3f4a5b6c7d02\n`,
  "everywhere.service": "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nGlobal=true\n",
  "padded.service": "[Service]\nExecStart=  /bin/sleep 1d  \nEnvironment=A=1 \\\n  B=2\n",
  "bad.service": "[Service] garbage\nExecStart=/bin/true\n",
  "contradiction.service": "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nMachineOf=y.service\nReplaces=y.service\n"
}

const commands: ReadonlyArray<ReadonlyArray<string>> = [
  ["list-machines"],
  ["list-machines", "--full", "--no-legend"],
  ["list-machines", "--fields", "machine,ip,metadata"],
  ["list-units"],
  ["list-units", "--full", "--no-legend", "--fields", "unit,machine,active,sub,load,hash"],
  ["list-unit-files"],
  ["list-unit-files", "--full", "--fields", "desc,dstate,global,hash,state,target,tmachine,unit"],
  ["cat", "hello.service"],
  ["cat", "missing.service"],
  ["submit", "web.service", "api@.service", "pinned.timer", "everywhere.service", "padded.service"],
  ["submit", "bad.service"],
  ["submit", "contradiction.service"],
  ["submit", "web.service"],
  ["cat", "web.service"],
  ["cat", "padded.service"],
  ["cat", "api@.service"],
  ["list-unit-files", "--full"],
  ["load", "--no-block", "web.service", "pinned.timer"],
  ["load", "--no-block", "api@1.service"],
  ["start", "--no-block", "web.service", "api@2.service", "everywhere.service"],
  ["start", "--no-block", "api@.service"],
  ["list-units", "--full"],
  ["list-unit-files", "--full", "--fields", "unit,hash,dstate,state,target,global"],
  ["stop", "--no-block", "web.service", "hello.service"],
  ["stop", "--no-block", "missing.service"],
  ["unload", "--no-block", "pinned.timer"],
  ["list-unit-files", "--full"],
  ["destroy", "web.service", "api@1.service", "missing.service"],
  ["destroy", "store.service"],
  ["list-unit-files", "--full"],
  ["list-units", "--full"],
  ["cat", "store.service"],
  ["list-machines", "--l"]
]

// fleetctl works on the units of one command in parallel goroutines and prints as each finishes: the lines of these
// commands come in any order, against fleet as against the local server.
const concurrent = new Set(["submit", "load", "start", "stop", "unload", "destroy"])
const inAnyOrder = (command: ReadonlyArray<string>, run: FleetctlRun): FleetctlRun =>
  concurrent.has(command[0]!)
    ? { ...run, stdout: run.stdout.split("\n").sort().join("\n"), stderr: run.stderr.split("\n").sort().join("\n") }
    : run

describe.skipIf(fleetctlSkipReason !== undefined)(
  `fidelity: fleetctl against fleet's own handler and the local server${fleetctlSkipReason === undefined ? "" : ` (skipped: ${fleetctlSkipReason})`}`,
  () => {
    let pair: Pair
    let dir: string
    beforeAll(async () => {
      pair = await startPair({ tokenLimit: 100 })
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-fleetctl-"))
      for (const [name, text] of Object.entries(unitFiles)) fs.writeFileSync(path.join(dir, name), text)
    })
    afterAll(async () => {
      await pair?.close()
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
    })

    it(`prints the same for ${commands.length} commands from the same seed`, async () => {
      await pair.run({ name: "fleetctl", seed: clusterSeed, requests: [] })
      const transcript: Array<{ readonly command: string; readonly fleet: unknown; readonly local: unknown }> = []
      for (const command of commands) {
        const [fromFleet, fromLocal] = await Promise.all([
          fleetctl(pair.reference.url, command, dir),
          fleetctl(pair.local.url, command, dir)
        ])
        transcript.push({
          command: command.join(" "),
          fleet: inAnyOrder(command, normalizeFleetctl(fromFleet)),
          local: inAnyOrder(command, normalizeFleetctl(fromLocal))
        })
      }
      if (process.env.FIDELITY_TRANSCRIPT !== undefined)
        fs.writeFileSync(process.env.FIDELITY_TRANSCRIPT, JSON.stringify(transcript, null, 1))
      const differing = transcript.filter((entry) => JSON.stringify(entry.fleet) !== JSON.stringify(entry.local))
      expect(differing).toEqual([])
      // Not vacuous: the listings show the seed, and some commands fail as fleet's do.
      const listing = transcript.find((entry) => entry.command === "list-unit-files")!.fleet as { stdout: string }
      expect(listing.stdout).toContain("hello.service")
      expect(transcript.filter((entry) => (entry.fleet as { code: number }).code !== 0).length).toBeGreaterThan(2)
    }, 120_000)
  }
)
