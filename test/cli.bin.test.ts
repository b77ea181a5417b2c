/**
 * The `effect-fleet` bin as users run it: the bundle `npm run build` writes (dist/cli-bundle/) prints byte for byte
 * what the CLI prints when run from its TypeScript source (help and usage errors included), and Node's compile cache, which the bin turns on, is harmless when
 * its directory cannot be used.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { effectFleet, localServer, type Result, type Server } from "./support/fleetctl.ts"

const repo = path.resolve(import.meta.dirname, "..")
const bin = path.join(repo, "bin", "effect-fleet.js")
const bundle = path.join(repo, "dist", "cli-bundle", "bin.js")
const haveBundle = fs.existsSync(bundle)
const source = path.join(repo, "src", "bin.ts")

const runFile = (file: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}): Promise<Result> =>
  new Promise((resolve) => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("FLEETCTL_")))
    execFile(
      process.execPath,
      [file, ...args],
      { env: { ...base, ...env }, timeout: 60_000, cwd: repo },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
        resolve({ stdout, stderr, code })
      }
    )
  })

const seed = {
  machines: [
    { id: "aaaa1111bbbb2222cccc", primaryIP: "10.0.0.1", metadata: { region: "east" } },
    { id: "dddd3333eeee4444ffff", primaryIP: "10.0.0.2" }
  ],
  units: [
    {
      name: "web@1.service",
      desiredState: "launched",
      currentState: "launched",
      machineID: "aaaa1111bbbb2222cccc",
      options: [{ section: "Service", name: "ExecStart", value: "/bin/sleep 1d" }]
    },
    {
      name: "db.service",
      desiredState: "inactive",
      currentState: "inactive",
      options: [
        { section: "Unit", name: "Description", value: "the db" },
        { section: "Service", name: "ExecStart", value: "/bin/sleep 2d" }
      ]
    }
  ],
  states: [
    {
      name: "web@1.service",
      hash: "0123456789abcdef0123456789abcdef01234567",
      machineID: "aaaa1111bbbb2222cccc",
      systemdLoadState: "loaded",
      systemdActiveState: "active",
      systemdSubState: "running"
    }
  ]
}

describe("the effect-fleet bin", () => {
  let server: Server
  beforeAll(async () => {
    server = await localServer(seed)
  })
  afterAll(() => server.close())

  const commands: ReadonlyArray<ReadonlyArray<string>> = [
    ["list-units"],
    ["list-units", "--full", "--no-legend"],
    ["list-units", "--fields", "unit,nope"],
    ["list-machines", "-l"],
    ["list-unit-files", "--output", "json"],
    ["cat", "db"],
    ["cat", "nope"],
    ["stop", "--no-block", "db"],
    ["version"],
    ["--help"],
    ["start", "--help"],
    ["no-such-command"]
  ]

  describe.skipIf(!haveBundle)("run from the bundle (skipped without `npm run build`)", () => {
    it.each(commands)("%s: the same bytes and exit code as the CLI from source", async (...args) => {
      const bundled = await runFile(bin, ["--endpoint", server.url, ...args])
      const fromSource = await runFile(source, ["--endpoint", server.url, ...args])
      expect(bundled).toEqual(fromSource)
      expect(bundled.stdout + bundled.stderr).not.toBe("")
    })

    it("a connection refused reads as it does in-process", async () => {
      const args = ["--endpoint", "http://127.0.0.1:1", "list-units"]
      const bundled = await runFile(bin, args)
      expect(bundled.code).toBe(1)
      expect(bundled).toEqual(await effectFleet(args))
    })

    it("the bin runs the bundle, not dist/bin.js", async () => {
      const loaded = await runFile(bin, ["version"], {
        NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(
          'import{registerHooks}from"node:module";registerHooks({load(u,c,n){if(u.includes("/dist/"))process.stderr.write(u.slice(u.indexOf("/dist/"))+"\\n");return n(u,c)}})'
        )}`
      })
      expect(loaded.stderr.split("\n")).toContain("/dist/cli-bundle/bin.js")
      expect(loaded.stderr.split("\n")).not.toContain("/dist/bin.js")
    })
  })

  describe("the compile cache", () => {
    it("is written under XDG_CACHE_HOME", async () => {
      const cache = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-cache-"))
      try {
        const result = await runFile(bin, ["version"], { XDG_CACHE_HOME: cache, NODE_COMPILE_CACHE: "" })
        expect(result).toEqual({ stdout: "effect-fleet version 0.2.0\n", stderr: "", code: 0 })
        expect(fs.readdirSync(path.join(cache, "effect-fleet", "compile-cache")).length).toBeGreaterThan(0)
      } finally {
        fs.rmSync(cache, { recursive: true, force: true })
      }
    })

    it.each([
      ["a file", () => path.join(repo, "package.json")],
      ["under /proc", () => "/proc/effect-fleet-nowhere"]
    ])("is left off when XDG_CACHE_HOME is %s, with the same output", async (_, dir) => {
      const result = await runFile(bin, ["--endpoint", server.url, "list-units"], {
        XDG_CACHE_HOME: dir(),
        NODE_COMPILE_CACHE: ""
      })
      expect(result).toEqual(await effectFleet(["--endpoint", server.url, "list-units"]))
      expect(result.code).toBe(0)
    })
  })
})
