/**
 * The commands fleetctl lacks: wait, apply, machine-metadata, and --output on listings; each with its failure cases.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { parseDuration } from "../src/cli/commands/extra.ts"
import { effectFleet, localServer, type Server } from "./support/fleetctl.ts"

const m1 = "aaaa1111bbbb2222cccc"
const m2 = "dddd3333eeee4444ffff"
const seed = {
  machines: [
    { id: m1, primaryIP: "10.0.0.1", metadata: { region: "east" } },
    { id: m2, primaryIP: "10.0.0.2" }
  ]
}

const withServer = async <A>(
  f: (server: Server, cli: (...args: Array<string>) => ReturnType<typeof effectFleet>) => Promise<A>,
  agents: "simulated" | "off" = "simulated"
) => {
  const server = await localServer(seed, agents)
  try {
    return await f(server, (...args) => effectFleet(["--endpoint", server.url, ...args]))
  } finally {
    await server.close()
  }
}

const unitDir = (files: Record<string, string>): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-apply-"))
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text)
  return dir
}

describe("effect-fleet wait", () => {
  it("Go durations and seconds", () => {
    expect(parseDuration("60s")).toBe(60_000)
    expect(parseDuration("1m30s")).toBe(90_000)
    expect(parseDuration("500ms")).toBe(500)
    expect(parseDuration("2")).toBe(2000)
    expect(parseDuration("soon")).toBeUndefined()
    expect(parseDuration("10x")).toBeUndefined()
  })

  it("waits for every unit to be running", { timeout: 60_000 }, () =>
    withServer(async (server, cli) => {
      const dir = unitDir({ "web@.service": "[Service]\nExecStart=/bin/sleep 1d\n" })
      const started = await effectFleet(["--endpoint", server.url, "start", "--no-block", "web@1", "web@2"], {
        cwd: dir
      })
      expect(started.code).toBe(0)
      const waited = await cli("wait", "web@1", "web@2.service", "--state", "running", "--timeout", "30s")
      expect(waited.stderr).toBe("")
      expect(waited.code).toBe(0)
      expect(waited.stdout.split("\n").sort()).toEqual([
        "",
        expect.stringMatching(
          /^Unit web@1\.service running on (aaaa1111\.\.\.\/10\.0\.0\.1|dddd3333\.\.\.\/10\.0\.0\.2)$/
        ),
        expect.stringMatching(
          /^Unit web@2\.service running on (aaaa1111\.\.\.\/10\.0\.0\.1|dddd3333\.\.\.\/10\.0\.0\.2)$/
        )
      ])
    })
  )

  it("reports every unit that did not make it, exit 1", { timeout: 60_000 }, () =>
    withServer(async (server, cli) => {
      const dir = unitDir({ "idle.service": "[Service]\nExecStart=/bin/true\n" })
      await effectFleet(["--endpoint", server.url, "submit", "idle"], { cwd: dir })
      const waited = await cli("wait", "idle", "ghost", "--state", "launched", "--timeout", "400ms")
      expect(waited).toEqual({
        stdout: "",
        stderr:
          "Unit idle.service did not reach launched: currentState inactive, desiredState inactive, no unit state reported\n" +
          "Unit ghost.service did not reach launched: the unit does not exist\n" +
          "Error waiting for units: 2 of 2 did not reach launched within 400ms\n",
        code: 1
      })
    })
  )

  it("shows a progress line on a terminal, and only the final lines otherwise", { timeout: 60_000 }, () =>
    withServer(async (server) => {
      const dir = unitDir({ "idle.service": "[Service]\nExecStart=/bin/true\n" })
      await effectFleet(["--endpoint", server.url, "submit", "idle"], { cwd: dir })
      const args = ["--endpoint", server.url, "wait", "idle", "--state", "launched", "--timeout", "300ms"]
      const tty = await effectFleet(args, { tty: true })
      expect(tty.stderr).toContain("\r\u001b[2KWaiting for idle.service: currentState inactive")
      expect(tty.stderr.endsWith("Error waiting for units: 1 of 1 did not reach launched within 300ms\n")).toBe(true)
      const plain = await effectFleet(args)
      expect(plain.stderr).not.toContain("\r")
      expect(plain.stderr).not.toContain("Waiting for")
    }, "off")
  )

  it("refuses a bad timeout and no units", () =>
    withServer(async (_server, cli) => {
      expect(await cli("wait", "--timeout", "soon", "a")).toEqual({
        stdout: "",
        stderr: 'Invalid --timeout "soon": expected a duration such as 60s, 1m30s or 500ms\n',
        code: 1
      })
      expect(await cli("wait")).toEqual({ stdout: "", stderr: "No units given\n", code: 1 })
    }, "off"))
})

describe("effect-fleet apply", () => {
  it(
    "plans by hash, applies with waiting, then has nothing to do; --prune destroys the rest",
    { timeout: 60_000 },
    () =>
      withServer(async (_server, cli) => {
        const dir = unitDir({
          "a.service": "[Service]\nExecStart=/bin/sleep 1d\n",
          "web@.service": "[Service]\nExecStart=/bin/sleep %i\n",
          "notes.txt": "not a unit"
        })
        const dry = await cli("apply", "--dry-run", dir)
        expect(dry).toEqual({
          stdout:
            "+ create a.service (launched, hash 6cff462)\n+ create web@.service (inactive, hash 1ec8748)\n" +
            "Plan: 2 to create, 0 to replace, 0 to change state, 0 to destroy.\n",
          stderr: "",
          code: 2
        })
        const applied = await cli("apply", dir)
        expect(applied.code).toBe(2)
        expect(applied.stdout).toMatch(
          /Plan: 2 to create.*\nUnit a\.service launched on [a-z0-9]{8}\.\.\.\/10\.0\.0\.[12]\n$/s
        )
        expect(await cli("apply", dir)).toEqual({
          stdout: "Nothing to do: the cluster matches the unit files.\n",
          stderr: "",
          code: 0
        })
        fs.writeFileSync(path.join(dir, "a.service"), "[Service]\nExecStart=/bin/sleep 2d\n")
        const json = await cli("apply", "--dry-run", "--state", "loaded", "--output", "json", dir)
        expect(json.code).toBe(2)
        expect(JSON.parse(json.stdout)).toEqual([
          {
            action: "replace",
            name: "a.service",
            desiredState: "loaded",
            hash: expect.stringMatching(/^[0-9a-f]{40}$/),
            previousHash: expect.stringMatching(/^6cff462/)
          }
        ])
        fs.rmSync(path.join(dir, "a.service"))
        const pruned = await cli("apply", "--prune", dir)
        expect(pruned).toEqual({
          stdout:
            "- destroy a.service\nPlan: 0 to create, 0 to replace, 0 to change state, 1 to destroy.\nDestroyed a.service\n",
          stderr: "",
          code: 2
        })
      })
  )

  it("a desired-state change only, when the file is the same", { timeout: 60_000 }, () =>
    withServer(async (_server, cli) => {
      const dir = unitDir({ "a.service": "[Service]\nExecStart=/bin/sleep 1d\n" })
      expect((await cli("apply", "--state", "loaded", dir)).code).toBe(2)
      const launched = await cli("apply", "--dry-run", dir)
      expect(launched.stdout).toBe(
        "> a.service: loaded -> launched\nPlan: 0 to create, 0 to replace, 1 to change state, 0 to destroy.\n"
      )
    })
  )

  it("failures: a missing path, an unparsable file, a unit fleet refuses", () =>
    withServer(async (_server, cli) => {
      expect(await cli("apply", "/nonexistent/units")).toEqual({
        stdout: "",
        stderr: "Error reading unit files: /nonexistent/units: no such file or directory\n",
        code: 1
      })
      const bad = unitDir({ "bad.service": "[Service\nExecStart=/bin/true\n" })
      const parsed = await cli("apply", bad)
      expect(parsed.code).toBe(1)
      expect(parsed.stderr).toMatch(/^Error reading unit files: .*bad\.service: unable to find end of section/)
      const refused = unitDir({
        "x.service":
          "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nGlobal=true\nConflicts=y.service\nReplaces=z.service\n"
      })
      const result = await cli("apply", "--no-block", refused)
      expect(result.code).toBe(1)
      expect(result.stderr).toBe(
        "Error applying + create x.service (launched, hash " +
          result.stdout.slice(result.stdout.indexOf("hash ") + 5, result.stdout.indexOf("hash ") + 12) +
          "): googleapi: Error 400: Global cannot be used with Replaces\n"
      )
    }, "off"))
})

describe("effect-fleet machine-metadata", () => {
  it("sets and removes keys on a machine named by a prefix", () =>
    withServer(async (_server, cli) => {
      expect(await cli("machine-metadata", "aaaa", "role=db", "tier=1", "--remove", "region")).toEqual({
        stdout: `${m1}\trole=db,tier=1\n`,
        stderr: "",
        code: 0
      })
      const listed = await cli("list-machines", "--fields", "machine,metadata", "--full", "--no-legend")
      expect(listed.stdout).toBe(`${m1}\trole=db,tier=1\n${m2}\t-\n`)
    }, "off"))

  it("failures: unknown machine, ambiguous prefix, bad pair, bad key", () =>
    withServer(async (_server, cli) => {
      expect(await cli("machine-metadata", "zzz", "a=b")).toEqual({
        stdout: "",
        stderr: "Machine zzz not found\n",
        code: 1
      })
      expect((await cli("machine-metadata", "", "a=b")).stderr).toBe(`Machine prefix  is ambiguous: ${m1}, ${m2}\n`)
      expect(await cli("machine-metadata", m1, "novalue")).toEqual({
        stdout: "",
        stderr: 'Invalid metadata "novalue": expected key=value\n',
        code: 1
      })
      expect(await cli("machine-metadata", m1, "bad key=1")).toEqual({
        stdout: "",
        stderr:
          'Error setting machine metadata: invalid metadata key "bad key": letters, digits, "_", "." and "-" only\n',
        code: 1
      })
    }, "off"))
})

describe("--output on listings", () => {
  it("json and yaml with the API's field names", () =>
    withServer(async (_server, cli) => {
      const json = await cli("list-machines", "--output", "json")
      expect(JSON.parse(json.stdout)).toEqual([
        { id: m1, primaryIP: "10.0.0.1", metadata: { region: "east" } },
        { id: m2, primaryIP: "10.0.0.2" }
      ])
      const yaml = await cli("list-machines", "-o", "yaml")
      expect(yaml.stdout).toBe(
        `- id: ${m1}\n  primaryIP: 10.0.0.1\n  metadata:\n    region: east\n- id: ${m2}\n  primaryIP: 10.0.0.2\n`
      )
      expect((await cli("list-units", "--output", "json")).stdout).toBe("[]\n")
      expect((await cli("list-unit-files", "--output", "yaml")).stdout).toBe("[]\n")
    }, "off"))
})
