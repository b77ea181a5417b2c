/**
 * status, journal, ssh and fd-forward against a real OpenSSH server on loopback: the unit's machine is 127.0.0.1,
 * `systemctl`, `journalctl` and `sudo` are stand-ins on the sessions' PATH that print how they were called, the
 * user key is in a real ssh-agent, and the host key is checked against a known_hosts file as the API tunnel checks it.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { effectFleet, fleetctl, haveFleetctl, localServer, type Server } from "./support/fleetctl.ts"
import { type Sshd, sshdAvailable, startAgent, startSshd } from "./support/sshd.ts"

const machine = "abcdef0123456789abcdef0123456789"

/** A unit state on the machine, loaded and active, as the server is seeded with and reports it. */
const state = (name: string, systemdSubState: string) => ({
  name,
  machineID: machine,
  systemdLoadState: "loaded",
  systemdActiveState: "active",
  systemdSubState
})

describe.skipIf(!sshdAvailable())("status, journal and ssh over a real sshd (skipped without /usr/sbin/sshd)", () => {
  let sshd: Sshd
  let agent: { readonly socket: string; readonly stop: () => Promise<void> }
  let server: Server
  let knownHosts: string
  let common: Array<string>
  const savedAgent = process.env.SSH_AUTH_SOCK

  beforeAll(async () => {
    sshd = await startSshd()
    agent = await startAgent(sshd.dir, [sshd.userKeyFile])
    process.env.SSH_AUTH_SOCK = agent.socket
    const bin = path.join(sshd.dir, "bin")
    for (const tool of ["systemctl", "journalctl"]) {
      fs.writeFileSync(
        path.join(bin, tool),
        `#!/bin/sh\necho "${tool} $*"\necho "to stderr" >&2\n[ "$3" = "failing.service" ] && exit 3\nexit 0\n`,
        { mode: 0o755 }
      )
    }
    fs.writeFileSync(path.join(bin, "sudo"), '#!/bin/sh\necho "sudo"\nexec "$@"\n', { mode: 0o755 })
    knownHosts = path.join(sshd.dir, "known_hosts")
    fs.writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n`)
    const unit = (name: string, currentState: string) => ({
      name,
      desiredState: "launched",
      currentState,
      machineID: machine,
      options: [{ section: "Service", name: "ExecStart", value: "/bin/sleep 1d" }]
    })
    server = await localServer({
      machines: [{ id: machine, primaryIP: "127.0.0.1" }],
      units: [unit("web.service", "launched"), unit("failing.service", "launched"), unit("idle.service", "inactive")],
      states: [state("web.service", "running"), state("failing.service", "exited")]
    })
    common = ["--endpoint", server.url, "--ssh-username", os.userInfo().username, "--known-hosts-file", knownHosts]
  })

  afterAll(async () => {
    if (savedAgent === undefined) delete process.env.SSH_AUTH_SOCK
    else process.env.SSH_AUTH_SOCK = savedAgent
    await server?.close()
    await agent?.stop()
    await sshd?.stop()
  })

  const cli = (...args: Array<string>) => effectFleet([...common, ...args])

  it("status runs systemctl status -l on the unit's machine", async () => {
    const result = await cli("status", "--ssh-port", String(sshd.port), "web")
    expect(result).toEqual({ stdout: "systemctl status -l web.service\n", stderr: "to stderr\n", code: 0 })
  })

  it("status of two units separates them with a blank line, and stops at a failing one with its exit code", async () => {
    const result = await cli("status", "--ssh-port", String(sshd.port), "web", "failing", "web")
    expect(result).toEqual({
      stdout: "systemctl status -l web.service\n\nsystemctl status -l failing.service\n",
      stderr: "to stderr\nto stderr\n",
      code: 3
    })
  })

  it("status refuses units that are not loaded or do not exist, with fleetctl's messages", async () => {
    expect(await cli("status", "idle")).toEqual({
      stdout: "",
      stderr: "Unit idle.service does not appear to be loaded.\n",
      code: 1
    })
    expect(await cli("status", "ghost")).toEqual({
      stdout: "",
      stderr: "Unit ghost.service does not exist.\n",
      code: 1
    })
  })

  it("status --output json is the API's view, without SSH", async () => {
    const result = await cli("status", "--output", "json", "web")
    expect(JSON.parse(result.stdout)).toEqual([
      {
        unit: {
          name: "web.service",
          options: [{ section: "Service", name: "ExecStart", value: "/bin/sleep 1d" }],
          desiredState: "launched",
          currentState: expect.stringMatching(/^(loaded|launched)$/),
          machineID: machine
        },
        states: [state("web.service", "running")]
      }
    ])
  })

  it("journal passes --lines, --sudo, --follow and --output as fleetctl does", async () => {
    const result = await cli("journal", "--ssh-port", String(sshd.port), "--lines", "5", "--sudo", "-f", "web")
    expect(result).toEqual({
      stdout: "sudo\njournalctl --unit web.service --no-pager -n 5 --output short -f\n",
      stderr: "to stderr\n",
      code: 0
    })
    expect(await cli("journal", "a", "b")).toEqual({ stdout: "", stderr: "One unit file must be provided.\n", code: 1 })
  })

  it("ssh runs a command on a machine by ID prefix or on a unit's machine, with its exit status", async () => {
    expect(await cli("ssh", "--ssh-port", String(sshd.port), "abcdef", "echo", "hello")).toEqual({
      stdout: "hello\n",
      stderr: "",
      code: 0
    })
    expect(await cli("ssh", "--ssh-port", String(sshd.port), "--unit", "web", "--", "exit", "7")).toEqual({
      stdout: "",
      stderr: "",
      code: 7
    })
    expect(await cli("ssh", "nothing-like-it")).toEqual({
      stdout: "",
      stderr: "Unable to proceed: could not find matching unit or machine\n",
      code: 1
    })
    expect(await cli("ssh", "--machine", "a", "--unit", "b")).toEqual({
      stdout: "",
      stderr: "Both machine and unit flags provided, please specify only one.\n",
      code: 1
    })
  })

  it.skipIf(!haveFleetctl)(
    "the same output, stderr and exit codes as fleetctl (skipped without fleet-ref)",
    async () => {
      const port = String(sshd.port)
      const cases: ReadonlyArray<ReadonlyArray<string>> = [
        ["status", "--ssh-port", port, "web"],
        ["status", "--ssh-port", port, "web", "failing", "web"],
        ["status", "idle"],
        ["status", "ghost"],
        ["journal", "--ssh-port", port, "--lines", "5", "--sudo", "--follow", "web"],
        ["journal", "--ssh-port", port, "--output", "json", "failing"],
        ["journal", "idle"],
        ["journal", "a", "b"],
        ["ssh", "--ssh-port", port, "abcdef", "echo", "hello"],
        ["ssh", "--ssh-port", port, "--unit", "web", "exit 7"],
        ["ssh", "--ssh-port", port, "--machine", "abc", "echo", "by", "machine"],
        ["ssh", "nothing-like-it"],
        ["ssh", "--machine", "a", "--unit", "b"],
        ["ssh", "--machine", "zzz"],
        ["--tunnel", `127.0.0.1:${port}`, "status", "--ssh-port", port, "web"]
      ]
      for (const args of cases) {
        const argv = [...common, ...args]
        const theirs = await fleetctl(argv)
        const ours = await effectFleet(argv)
        expect({ args: args.join(" "), ...ours }).toEqual({ args: args.join(" "), ...theirs })
      }
    }
  )

  it("ssh without a command opens a shell with a pty, fed from stdin", async () => {
    const bin = path.resolve(import.meta.dirname, "../bin/effect-fleet.js")
    const result = await new Promise<{ out: string; code: number | null }>((done) => {
      const child = spawn(process.execPath, [bin, ...common, "ssh", "--ssh-port", String(sshd.port), "abcdef"], {
        stdio: ["pipe", "pipe", "inherit"],
        env: { ...process.env, SSH_AUTH_SOCK: agent.socket }
      })
      let out = ""
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString()
      })
      child.on("close", (code) => done({ out, code }))
      child.stdin.write("tty >/dev/null && echo has-a-pty-$((6*7))\n")
      child.stdin.end("exit 5\n")
    })
    expect(result.out).toContain("has-a-pty-42")
    expect(result.code).toBe(0)
  })

  it("through --tunnel: the API and the machine are both reached through the tunnel host", async () => {
    const result = await cli("--tunnel", `127.0.0.1:${sshd.port}`, "status", "--ssh-port", String(sshd.port), "web")
    expect(result).toEqual({ stdout: "systemctl status -l web.service\n", stderr: "to stderr\n", code: 0 })
    const ran = await cli(
      "--tunnel",
      `127.0.0.1:${sshd.port}`,
      "ssh",
      "--ssh-port",
      String(sshd.port),
      "web",
      "echo",
      "via"
    )
    expect(ran).toEqual({ stdout: "via\n", stderr: "", code: 0 })
  })

  it("the host key is checked as for the API tunnel: an unknown host is refused unless checking is off", async () => {
    const empty = path.join(sshd.dir, "known_hosts_empty")
    fs.writeFileSync(empty, "")
    const base = ["--endpoint", server.url, "--ssh-username", os.userInfo().username]
    const refused = await effectFleet([
      ...base,
      "--known-hosts-file",
      empty,
      "ssh",
      "--ssh-port",
      String(sshd.port),
      "abcdef",
      "true"
    ])
    expect(refused.stdout).toBe("")
    expect(refused.stderr).toMatch(/^Failed building SSH client: .*127\.0\.0\.1/)
    expect(refused.code).toBe(1)
    const unchecked = await effectFleet([
      ...base,
      "--known-hosts-file",
      empty,
      "--strict-host-key-checking=false",
      "ssh",
      "--ssh-port",
      String(sshd.port),
      "abcdef",
      "echo",
      "ok"
    ])
    expect(unchecked).toEqual({ stdout: "ok\n", stderr: "", code: 0 })
  })
})

describe("fd-forward", () => {
  it("splices stdin and stdout to a unix socket, as a tunnel's remote end", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-fd-"))
    const socket = path.join(dir, "echo.sock")
    const echo = net.createServer((connection) => {
      connection.on("data", (chunk) => connection.write(Buffer.concat([Buffer.from("echo:"), chunk])))
      connection.on("end", () => connection.end())
    })
    await new Promise<void>((done) => echo.listen(socket, done))
    try {
      const bin = path.resolve(import.meta.dirname, "../bin/effect-fleet.js")
      const result = await new Promise<{ out: string; code: number | null }>((done) => {
        const child = spawn(process.execPath, [bin, "fd-forward", socket], { stdio: ["pipe", "pipe", "inherit"] })
        let out = ""
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString()
        })
        child.on("close", (code) => done({ out, code }))
        child.stdin.end("ping")
      })
      expect(result).toEqual({ out: "echo:ping", code: 0 })
      const missing = await effectFleet(["fd-forward", path.join(dir, "none.sock")])
      expect(missing).toEqual({
        stdout: "",
        stderr: `Failed dialing remote address: dial unix ${path.join(dir, "none.sock")}: connect: no such file or directory\n`,
        code: 0
      })
    } finally {
      echo.close()
    }
  })
})
