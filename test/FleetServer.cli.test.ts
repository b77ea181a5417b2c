import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { fetchRaw, json } from "./support/rawHttp.ts"

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

  it("--max-body caps request bodies with fleet's 413", async () => {
    const running = await start(node, [bin, "serve", "--port", "0", "--max-body", "1K"], 1)
    const port = tcpPort(running.lines)
    const put = (body: string) =>
      fetchRaw({ _tag: "Tcp", port }, { method: "PUT", path: "/fleet/v1/units/a.service", headers: json, body })
    const over = await put(`{"options":[{"section":"Service","name":"ExecStart","value":"${"x".repeat(1024)}"}]}`)
    expect([over.status, over.body]).toEqual([413, '{"error":{"code":413,"message":"http: request body too large"}}'])
    const under = await put('{"options":[{"section":"Service","name":"ExecStart","value":"/bin/true"}]}')
    expect(under.status).toBe(201)
    running.child.kill("SIGTERM")
    expect((await running.exited).code).toBe(0)
  })

  it("--help says what it serves and where it listens", async () => {
    const { code, stdout } = await run(["serve", "--help"])
    expect(code).toBe(0)
    expect(stdout).toContain("fleet v1 HTTP API")
    expect(stdout).toContain("listening on http://HOST:PORT")
    expect(stdout).toContain("listening on unix://PATH")
    expect(stdout).toContain("--max-body")
  })
})

/** Runs the CLI to completion. */
const run = (args: ReadonlyArray<string>) =>
  new Promise<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resolve) =>
    execFile(node, [bin, ...args], { cwd: repo, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr })
    )
  )

describe("effect-fleet serve errors: one line on stderr, no stack trace, exit 1", () => {
  const dir = tempDir()
  const file = (name: string, text: string) => {
    const at = path.join(dir, name)
    fs.writeFileSync(at, text)
    return at
  }
  const notJson = file("not-json.json", "{bad")
  const wrongShape = file("wrong-shape.json", '{"machines":[{"id":5}]}')
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, string]> = [
    [
      "a seed file that is not JSON",
      ["--port", "0", "--seed", notJson],
      `effect-fleet serve: invalid seed file ${notJson}: Expected property name or '}' in JSON at position 1 ` +
        "(line 1 column 2)"
    ],
    [
      "a seed file of the wrong shape",
      ["--port", "0", "--seed", wrongShape],
      `effect-fleet serve: invalid seed file ${wrongShape}: Expected string at ["machines"][0]["id"]`
    ],
    [
      "a missing seed file",
      ["--port", "0", "--seed", path.join(dir, "missing.json")],
      `effect-fleet serve: cannot read seed file ${path.join(dir, "missing.json")}: ENOENT: no such file or ` +
        `directory, open '${path.join(dir, "missing.json")}'`
    ],
    [
      "a port out of range",
      ["--port", "70000"],
      "effect-fleet serve: port must be a whole number from 0 to 65535, got 70000"
    ],
    [
      "a body cap that is not a size",
      ["--port", "0", "--max-body", "lots"],
      "effect-fleet serve: --max-body must be a size such as 16M or 1048576, got lots"
    ]
  ]
  for (const [what, args, line] of cases) {
    it(`reports ${what}`, async () => {
      const { code, stdout, stderr } = await run(["serve", ...args])
      expect({ code, stdout, stderr }).toEqual({ code: 1, stdout: "", stderr: line + "\n" })
    })
  }

  it("reports a port in use, and a socket path that exists, without removing that file", async () => {
    const taken = net.createServer()
    await new Promise<void>((done) => taken.listen(0, "127.0.0.1", () => done()))
    const port = (taken.address() as net.AddressInfo).port
    try {
      const inUse = await run(["serve", "--port", String(port)])
      expect(inUse).toEqual({
        code: 1,
        stdout: "",
        stderr: `effect-fleet serve: cannot listen on http://127.0.0.1:${port}: address already in use\n`
      })
    } finally {
      await new Promise<void>((done) => taken.close(() => done()))
    }
    const socket = file("occupied.sock", "not a socket")
    const exists = await run(["serve", "--socket", socket])
    expect(exists).toEqual({
      code: 1,
      stdout: "",
      stderr: `effect-fleet serve: cannot listen on unix://${socket}: address already in use\n`
    })
    expect(fs.readFileSync(socket, "utf8")).toBe("not a socket")
  })
})
