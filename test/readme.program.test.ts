import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as FleetServer from "../src/FleetServer.ts"
import { Machine } from "../src/Machine.ts"

const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.promise(
    () =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [...args],
          { env: { ...process.env, ...env }, timeout: 60_000 },
          (error, stdout, stderr) =>
            resolve({ code: error === null ? 0 : (error.code as number | null), stdout, stderr })
        )
      })
  )

const unitFile = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-program-"))
  const file = path.join(dir, "hello.service")
  fs.writeFileSync(file, "[Service]\nExecStart=/bin/sleep 1d\n")
  return file
}

// Each README command, run the way a new user runs it after `npm ci` in an unbuilt checkout (no dist/).
const npmScript = (name: string): Array<string> => {
  const scripts: Record<string, string> = JSON.parse(fs.readFileSync("package.json", "utf8")).scripts
  const [command, ...args] = (scripts[name] ?? "").split(" ")
  expect(command, `npm run ${name} runs node`).toBe("node")
  return args
}

describe("the README's complete program (examples/readme/program.ts)", () => {
  it.live("creates, lists and destroys a unit read from a file, against a local fleet", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.FleetServer
      const { code, stderr, stdout } = yield* run(["--conditions=effect-fleet-source", "examples/readme/program.ts"], {
        FLEET_ENDPOINT: server.url,
        UNIT_FILE: unitFile()
      })
      expect(stderr).toBe("")
      expect(stdout).toContain("hello.service is launched on m1")
      expect(stdout).toContain("units: hello.service")
      expect(code).toBe(0)
    }).pipe(
      Effect.provide(
        FleetServer.layer({ port: 0, seed: { machines: [new Machine({ id: "m1", primaryIP: "10.0.0.1" })] } })
      )
    )
  )

  it.live("reports an unreachable endpoint in one line and exits 1", () =>
    Effect.gen(function* () {
      const { code, stderr, stdout } = yield* run(["--conditions=effect-fleet-source", "examples/readme/program.ts"], {
        FLEET_ENDPOINT: "http://127.0.0.1:1",
        UNIT_FILE: unitFile()
      })
      expect(code).toBe(1)
      const lines = (stdout + stderr).trim().split("\n")
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain("Unable to connect to endpoint http://127.0.0.1:1: connection refused (ECONNREFUSED)")
    })
  )
})

describe("the README's tracing command", () => {
  it.live("npm run example:tracing works in an unbuilt checkout and prints the spans", () =>
    Effect.gen(function* () {
      expect(fs.readFileSync("README.md", "utf8")).toContain("`npm run example:tracing`")
      const { code, stderr, stdout } = yield* run(npmScript("example:tracing"))
      expect(stderr).toBe("")
      expect(code).toBe(0)
      expect(stdout).toMatch(/^span Fleet\.getUnit .* ok .*fleet\.retries=2/m)
    })
  )
})
