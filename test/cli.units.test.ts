/**
 * fleetctl's unit commands (submit, load, start, stop, unload, destroy) run by fleetctl and by effect-fleet, each
 * against its own fresh local fleet with simulated agents, step by step, compared byte for byte, blocking `start`,
 * `stop` and `load` (fleetctl's waits, which poll `GET /fleet/v1/state/<unit>` and the unit) included.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import {
  effectFleet,
  fleetctl,
  haveEtcd,
  haveFleetctl,
  haveTestServer,
  localServer,
  referenceServer,
  type Result,
  startEtcd
} from "./support/fleetctl.ts"

// fleetctl waits for several units in goroutines that print as each unit gets there: the order of a run of
// "Unit x <state>" lines is a race in fleetctl too, so such runs are compared as sets.
const settle = (result: Result): Result => {
  const lines = result.stdout.split("\n")
  const out: Array<string> = []
  let run: Array<string> = []
  for (const line of lines) {
    if (/^Unit \S+ \S*/.test(line)) run.push(line)
    else {
      out.push(...run.sort(), line)
      run = []
    }
  }
  out.push(...run.sort())
  return { ...result, stdout: out.join("\n") }
}

const seed = { machines: [{ id: "aaaa1111bbbb2222cccc", primaryIP: "10.0.0.1", metadata: { region: "east" } }] }

const unitFiles = (): { readonly root: string; readonly other: string } => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-units-"))
  fs.writeFileSync(
    path.join(root, "hello.service"),
    "[Unit]\nDescription=hello\n\n[Service]\nExecStart=/bin/sleep 1d\n"
  )
  fs.writeFileSync(path.join(root, "app@.service"), "[Service]\nExecStart=/bin/sleep %i\n")
  fs.writeFileSync(path.join(root, "bad.service"), "[Service\nExecStart=/bin/true\n")
  fs.writeFileSync(
    path.join(root, "nowhere.service"),
    "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nMachineID=0000000000000000nowhere\n"
  )
  fs.writeFileSync(
    path.join(root, "everywhere.service"),
    "[Service]\nExecStart=/bin/sleep 1d\n\n[X-Fleet]\nGlobal=true\n"
  )
  fs.mkdirSync(path.join(root, "changed"))
  fs.writeFileSync(path.join(root, "changed", "hello.service"), "[Service]\nExecStart=/bin/sleep 2d\n")
  fs.writeFileSync(path.join(root, "changed", "app@.service"), "[Service]\nExecStart=/bin/sleep 2d\n")
  const other = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-empty-"))
  return { root, other }
}

interface Step {
  readonly args: ReadonlyArray<string>
  readonly in?: "root" | "other"
}

/**
 * Runs each step with fleetctl against `theirs` and with effect-fleet against `ours`, in the unit files' directory,
 * and expects the two results, put through the step's `normalize`, to be equal.
 */
const compareSteps = async (
  steps: ReadonlyArray<Step>,
  theirs: { readonly url: string },
  ours: { readonly url: string },
  normalize: (step: Step) => (result: Result) => Result = () => settle
) => {
  const dirs = unitFiles()
  for (const step of steps) {
    const cwd = step.in === "other" ? dirs.other : dirs.root
    const expected: Result = await fleetctl(["--endpoint", theirs.url, ...step.args], { cwd })
    const actual = await effectFleet(["--endpoint", ours.url, ...step.args], { cwd })
    const compare = normalize(step)
    expect({ step: step.args.join(" "), ...compare(actual) }).toEqual({
      step: step.args.join(" "),
      ...compare(expected)
    })
  }
}

const steps: ReadonlyArray<Step> = [
  { args: ["submit"] },
  { args: ["submit", "hello.service"] },
  { args: ["submit", "hello"] },
  { args: ["submit", "changed/hello.service"] },
  { args: ["submit", "--sign", "app@1"] },
  { args: ["submit", "changed/app@1.service"] },
  { args: ["submit", "app@.service"] },
  { args: ["submit", "app@9"], in: "other" },
  { args: ["load", "app@1"] },
  { args: ["load", "app@1"] },
  { args: ["start", "--no-block", "app@2", "hello"] },
  { args: ["stop", "app@1"] },
  { args: ["stop", "nope"] },
  { args: ["stop"] },
  { args: ["unload", "app@1"] },
  { args: ["unload", "app@1"] },
  { args: ["stop", "app@1"] },
  { args: ["destroy", "app@1", "nope", "app@9"] },
  { args: ["destroy", "nope"] },
  { args: ["submit", "missing.service"] },
  { args: ["submit", "nope@1"], in: "other" },
  { args: ["submit", "bad.service"] },
  { args: ["submit", "bad name.service"] },
  { args: ["load", "--no-block", "everywhere"] },
  { args: ["load", "--block-attempts=1", "nowhere"] },
  { args: ["unload", "--no-block", "everywhere", "nowhere"] },
  { args: ["destroy", "everywhere", "nowhere", "hello", "app@2", "app@.service"] },
  { args: ["list-unit-files"] }
]

describe.skipIf(!haveFleetctl)("unit commands vs fleetctl (skipped without ../shared/tools/fleet-ref)", () => {
  it("the same steps give the same output, stderr and exit codes", { timeout: 120_000 }, async () => {
    const [theirs, ours] = await Promise.all([localServer(seed, "simulated"), localServer(seed, "simulated")])
    try {
      await compareSteps(steps, theirs, ours)
    } finally {
      await Promise.all([theirs.close(), ours.close()])
    }
  })
})

// fleetctl's blocking commands wait for each unit in a goroutine of its own, and the first of them to print lists
// the machines into a map that the others read without a lock (cachedMachineState): a unit whose wait finishes while
// that listing is in flight is printed without its " on <machine>" (`Unit app@1.service loaded`), another run with
// it. effect-fleet lists the machines once for all waits and always names the machine. So for a step that waits for
// several units, the run of "Unit x <state>" lines is compared with that suffix left out; a step that waits for one
// unit is compared byte for byte.
const withoutMachines = (result: Result): Result => ({
  ...result,
  stdout: result.stdout.replace(/^(Unit \S+ \S+) on \S+$/gm, "$1")
})

const blockingSteps: ReadonlyArray<Step> = [
  { args: ["start", "hello"] },
  { args: ["start", "hello"] },
  { args: ["stop", "hello"] },
  { args: ["stop", "hello"] },
  { args: ["start", "hello.service"] },
  { args: ["load", "app@1", "app@2"] },
  { args: ["load", "app@1"] },
  { args: ["start", "app@1", "app@2"] },
  { args: ["stop", "app@1"] },
  { args: ["unload", "app@1"] },
  { args: ["start", "app@1"] },
  { args: ["stop", "app@1", "app@2", "hello"] },
  { args: ["start", "--block-attempts=5", "app@1", "app@2", "hello"] },
  { args: ["load", "--block-attempts=1", "nowhere"] },
  { args: ["start", "--block-attempts=2", "nowhere"] },
  { args: ["stop", "--block-attempts=1", "nowhere"] },
  { args: ["start", "everywhere"] },
  { args: ["stop", "everywhere"] },
  { args: ["load", "everywhere", "app@3"] },
  { args: ["start", "nope"] },
  { args: ["stop", "nope", "app@3"] },
  { args: ["start", "app@9"], in: "other" },
  { args: ["list-units"] },
  { args: ["list-unit-files"] }
]

describe.skipIf(!haveFleetctl)(
  "blocking start, stop and load vs fleetctl (skipped without ../shared/tools/fleet-ref)",
  () => {
    it("the same steps give the same output, stderr and exit codes", { timeout: 180_000 }, async () => {
      const [theirs, ours] = await Promise.all([localServer(seed, "simulated"), localServer(seed, "simulated")])
      try {
        await compareSteps(blockingSteps, theirs, ours, (step) => {
          const units = step.args.filter((arg) => !arg.startsWith("-")).length - 1
          return units > 1 ? (result: Result) => settle(withoutMachines(result)) : settle
        })
      } finally {
        await Promise.all([theirs.close(), ours.close()])
      }
    })
  }
)

// fleet's own handler runs no engine or agents: units stay unscheduled, so only steps that need no scheduling apply.
const referenceSteps: ReadonlyArray<Step> = [
  { args: ["submit", "hello.service", "app@1"] },
  { args: ["submit", "hello"] },
  { args: ["submit", "changed/hello.service"] },
  { args: ["submit", "app@.service"] },
  { args: ["submit", "app@9"], in: "other" },
  { args: ["load", "--no-block", "app@1", "everywhere"] },
  { args: ["start", "--no-block", "hello", "app@2"] },
  { args: ["stop", "app@1"] },
  { args: ["unload", "--no-block", "app@1", "everywhere"] },
  { args: ["stop", "--no-block", "hello"] },
  { args: ["submit", "missing.service"] },
  { args: ["submit", "nope@1"], in: "other" },
  { args: ["submit", "bad.service"] },
  { args: ["list-unit-files"] },
  { args: ["destroy", "app@1", "nope", "app@9", "hello"] },
  { args: ["list-unit-files", "--full"] },
  { args: ["stop", "ghost"] }
]

describe.skipIf(!haveFleetctl || !haveTestServer || !haveEtcd)(
  "unit commands vs fleetctl against fleet's own API handler over etcd (skipped without fleet-ref or etcd)",
  () => {
    it("the same steps give the same output, stderr and exit codes", { timeout: 120_000 }, async () => {
      const etcd = await startEtcd()
      try {
        const [theirs, ours] = await Promise.all([referenceServer(seed, etcd.url), referenceServer(seed, etcd.url)])
        try {
          await compareSteps(referenceSteps, theirs, ours)
        } finally {
          await Promise.all([theirs.close(), ours.close()])
        }
      } finally {
        await etcd.stop()
      }
    })
  }
)

describe("unit commands (effect-fleet alone)", () => {
  it("start blocks until launched and systemd-active, then restart stops and starts it again", {
    timeout: 60_000
  }, async () => {
    const server = await localServer(seed, "simulated")
    const { root } = unitFiles()
    try {
      const started = await effectFleet(["--endpoint", server.url, "start", "hello", "app@3"], { cwd: root })
      expect(started.stderr).toBe("")
      expect(started.code).toBe(0)
      expect(started.stdout.split("\n").sort()).toEqual([
        "",
        "Unit app@3.service inactive",
        "Unit app@3.service launched on aaaa1111.../10.0.0.1",
        "Unit hello.service inactive",
        "Unit hello.service launched on aaaa1111.../10.0.0.1"
      ])
      const restarted = await effectFleet(["--endpoint", server.url, "restart", "hello"], { cwd: root })
      expect(restarted).toEqual({
        stdout:
          "Unit hello.service loaded on aaaa1111.../10.0.0.1\nUnit hello.service launched on aaaa1111.../10.0.0.1\n",
        stderr: "",
        code: 0
      })
      const again = await effectFleet(["--endpoint", server.url, "start", "hello"], { cwd: root })
      expect(again).toEqual({ stdout: "", stderr: "", code: 0 })
    } finally {
      await server.close()
    }
  })

  it("start of a unit no machine can take times out with fleetctl's messages", { timeout: 60_000 }, async () => {
    const server = await localServer(seed, "simulated")
    const { root } = unitFiles()
    try {
      const result = await effectFleet(["--endpoint", server.url, "start", "--block-attempts", "1", "nowhere"], {
        cwd: root
      })
      expect(result).toEqual({
        stdout: "Unit nowhere.service inactive\n",
        stderr:
          "Error waiting for units: timed out waiting for unit nowhere.service to report state launched\n" +
          "Error waiting for unit states, exit status: timed out waiting for unit nowhere.service to report state launched\n",
        code: 1
      })
    } finally {
      await server.close()
    }
  })
})
