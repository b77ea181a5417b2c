import { execFile } from "node:child_process"
import * as fs from "node:fs"
import { describe, expect, it } from "@effect/vitest"

const run = (file: string, env: Record<string, string> = {}) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["--conditions=effect-fleet-source", file],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : (error.code as number | null), stdout, stderr })
    )
  })

describe("examples", () => {
  it("main.ts runs against the embedded local fleet server", async () => {
    const { code, stderr, stdout } = await run("examples/main.ts")
    expect(stderr).toBe("")
    expect(code).toBe(0)
    expect(stdout).toMatch(/^local fleet server listening on http:\/\/127\.0\.0\.1:\d+$/m)
    expect(stdout).toContain("created sleep@1.service: launched on ")
    expect(stdout).toContain("sleep@2.service is now loaded")
    expect(stdout).toContain(`getUnit("nope.service") failed as expected: unit does not exist (404)`)
    expect(stdout).toContain("units left: 0")
  })

  it("README code blocks are the type-checked files under examples/readme", () => {
    const readme = fs.readFileSync("README.md", "utf8")
    const blocks = [...readme.matchAll(/<!-- file: (\S+) -->\n```ts\n([\s\S]*?)```/g)]
    expect(blocks.length).toBeGreaterThanOrEqual(6)
    for (const [, file, code] of blocks) {
      expect(code, `${file} differs from its README block`).toBe(fs.readFileSync(file!, "utf8"))
    }
    // every example file is shown in the README
    for (const file of fs.readdirSync("examples/readme")) {
      expect(readme, `examples/readme/${file} is not in the README`).toContain(`<!-- file: examples/readme/${file} -->`)
    }
  })
})
