import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { fetchRaw } from "./support/rawHttp.ts"

const repo = path.resolve(import.meta.dirname, "..")
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-cli-"))

interface Running {
  readonly child: ChildProcess
  readonly lines: ReadonlyArray<string>
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

/** Starts the CLI and waits until it has printed `expected` listening lines. */
const start = (command: string, args: ReadonlyArray<string>, expected: number): Promise<Running> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repo, detached: true, stdio: ["ignore", "pipe", "pipe"] })
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.on("exit", (code, signal) => done({ code, signal }))
    )
    let stdout = ""
    let stderr = ""
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      const lines = stdout.split("\n").filter((line) => line.startsWith("listening on "))
      if (lines.length >= expected) resolve({ child, lines, exited })
    })
    void exited.then(({ code }) => reject(new Error(`exited with ${code} before listening: ${stdout}${stderr}`)))
  })

const tcpPort = (lines: ReadonlyArray<string>) => {
  const match = /^listening on http:\/\/127\.0\.0\.1:(\d+)$/.exec(lines[0] ?? "")
  if (match === null) throw new Error(`no TCP line in ${lines.join("; ")}`)
  return Number(match[1])
}

const node = process.execPath
const bin = path.join(repo, "bin", "effect-fleet.js")

describe("effect-fleet serve", () => {
  it("runs through npx, serves TCP and a unix socket, and removes the socket on Ctrl-C", async () => {
    const socket = path.join(tempDir(), "fleet.sock")
    const running = await start(
      "npx",
      ["effect-fleet", "serve", "--port", "0", "--agents", "off", "--socket", socket],
      2
    )
    expect(running.lines[1]).toBe(`listening on unix://${socket}`)
    const port = tcpPort(running.lines)
    const created = await fetchRaw(
      { _tag: "Tcp", port },
      {
        method: "PUT",
        path: "/fleet/v1/units/a.service",
        headers: ["Content-Type", "application/json"],
        body: '{"desiredState":"launched","options":[{"section":"Service","name":"ExecStart","value":"/bin/true"}]}'
      }
    )
    expect(created.status).toBe(201)
    const unit = await fetchRaw({ _tag: "Unix", path: socket }, { path: "/fleet/v1/units/a.service" })
    expect(unit.body).toBe(
      '{"currentState":"inactive","desiredState":"launched","name":"a.service",' +
        '"options":[{"name":"ExecStart","section":"Service","value":"/bin/true"}]}'
    )
    // Ctrl-C signals the whole process group: npx and the server under it.
    process.kill(-running.child.pid!, "SIGINT")
    await running.exited
    expect(fs.existsSync(socket)).toBe(false)
  })

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`exits 0 on ${signal} and removes its socket`, async () => {
      const socket = path.join(tempDir(), "fleet.sock")
      const running = await start(node, [bin, "serve", "--port", "0", "--socket", socket], 2)
      expect(fs.existsSync(socket)).toBe(true)
      running.child.kill(signal)
      expect(await running.exited).toEqual({ code: 0, signal: null })
      expect(fs.existsSync(socket)).toBe(false)
    })
  }

  it("serves only the socket when only --socket is given, with a seed file and a token limit", async () => {
    const dir = tempDir()
    const socket = path.join(dir, "fleet.sock")
    const seed = path.join(dir, "seed.json")
    fs.writeFileSync(seed, JSON.stringify({ machines: [{ id: "c" }, { id: "a" }, { id: "b" }] }))
    const running = await start(node, [bin, "serve", "--socket", socket, "--seed", seed, "--token-limit", "2"], 1)
    expect(running.lines).toEqual([`listening on unix://${socket}`])
    const first = await fetchRaw({ _tag: "Unix", path: socket }, { path: "/fleet/v1/machines" })
    expect(first.body).toBe('{"machines":[{"id":"a"},{"id":"b"}],"nextPageToken":"AgACAA=="}')
    running.child.kill("SIGINT")
    expect((await running.exited).code).toBe(0)
  })

  it("refuses an unknown --agents value", async () => {
    const child = spawn(node, [bin, "serve", "--port", "0", "--agents", "maybe"], { cwd: repo, stdio: "ignore" })
    const code = await new Promise<number | null>((done) => child.on("exit", (exitCode) => done(exitCode)))
    expect(code).not.toBe(0)
  })
})
