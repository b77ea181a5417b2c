/**
 * A real OpenSSH server for the tunnel tests: `sshd -D -e` on 127.0.0.1 and a free port, with a host key, a user
 * key and an authorized_keys file generated for the run, stream-local and TCP forwarding allowed, and a `fleetctl`
 * stand-in (for `fleetctl fd-forward <socket>`) first on its sessions' PATH.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { freePort } from "./net.ts"
import type { SshTestServer } from "./sshServer.ts"

export const sshdPath = "/usr/sbin/sshd"

export const sshdAvailable = (): boolean => {
  // Runs the suite as on a machine without OpenSSH; see sshServer.ts.
  if (process.env.EFFECT_FLEET_NO_OPENSSH === "1") return false
  try {
    fs.accessSync(sshdPath, fs.constants.X_OK)
    return true
  } catch {
    return false
  }
}

export const keygen = (file: string, type: "ed25519" | "ecdsa" | "rsa" = "ed25519", passphrase = "") => {
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", passphrase, "-C", "effect-fleet-test", "-f", file])
  return { privateKey: fs.readFileSync(file, "utf8"), publicKey: fs.readFileSync(`${file}.pub`, "utf8").trim() }
}

const waitFor = async (check: () => boolean | Promise<boolean>, what: string, ms = 10_000) => {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`timed out waiting for ${what}`)
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

const descendants = (pid: number): Array<number> => {
  const children = new Map<number, Array<number>>()
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8")
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      const list = children.get(ppid) ?? []
      list.push(Number(entry))
      children.set(ppid, list)
    } catch {
      // The process ended while the table was read.
    }
  }
  const all: Array<number> = []
  const walk = (parent: number) => {
    for (const child of children.get(parent) ?? []) {
      all.push(child)
      walk(child)
    }
  }
  walk(pid)
  return all
}

/**
 * IPv4 TCP connections (from /proc/net/tcp) whose local or remote end is the port and whose state is one of
 * `states` (the kernel's hex codes: "01" ESTABLISHED, "08" CLOSE_WAIT).
 */
export const tcpConnections = (port: number, end: "local" | "remote", states: ReadonlyArray<string>): number => {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`
  const field = end === "local" ? 1 : 2
  return fs
    .readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .filter((line) => {
      const fields = line.trim().split(/\s+/)
      return fields[field]?.endsWith(hex) === true && states.includes(fields[3] ?? "")
    }).length
}

/** Established TCP connections whose local end is the port (IPv4 loopback, from /proc/net/tcp). */
export const establishedOn = (port: number): number => tcpConnections(port, "local", ["01"])

/** The OpenSSH server: an `SshTestServer` whose sessions are processes a test can find and signal. */
export interface Sshd extends Omit<SshTestServer, "kind"> {
  readonly kind: "OpenSSH"
  /** Their process ids, to stop them (SIGSTOP) as if the host froze without closing its connections. */
  readonly sessionPids: () => ReadonlyArray<number>
}

export const startSshd = async (): Promise<Sshd> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-sshd-"))
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 })
  const hostKeyFile = path.join(dir, "host_ed25519")
  const host = keygen(hostKeyFile)
  const userKeyFile = path.join(dir, "user_ed25519")
  const user = keygen(userKeyFile)
  fs.writeFileSync(path.join(dir, "authorized_keys"), `${user.publicKey}\n`)
  const bin = path.join(dir, "bin")
  fs.mkdirSync(bin)
  // fleetctl's fd-forward: stdin and stdout of the exec channel spliced to the unix socket.
  fs.writeFileSync(
    path.join(bin, "fleetctl"),
    `#!${process.execPath}
const net = require("node:net")
if (process.argv[2] !== "fd-forward" || !process.argv[3]) {
  process.stderr.write("usage: fleetctl fd-forward <socket>\\n")
  process.exit(2)
}
const socket = net.connect(process.argv[3])
socket.on("error", (error) => {
  process.stderr.write("fleetctl: " + error.message + "\\n")
  process.exit(1)
})
process.stdin.pipe(socket)
socket.pipe(process.stdout)
socket.on("close", () => process.exit(0))
`,
    { mode: 0o755 }
  )
  const port = await freePort()
  const config = path.join(dir, "sshd_config")
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKeyFile}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
      "StrictModes no",
      "UsePAM no",
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "AllowTcpForwarding yes",
      "AllowStreamLocalForwarding yes",
      "LogLevel ERROR",
      // The concurrency tests open 20 connections at once; sshd's default drops unauthenticated ones past 10.
      "MaxStartups 100",
      `SetEnv PATH=${bin}:/usr/local/bin:/usr/bin:/bin`,
      ""
    ].join("\n")
  )
  let child: ChildProcess | undefined
  const start = async () => {
    const spawned = spawn(sshdPath, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    spawned.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child = spawned
    await waitFor(async () => {
      if (spawned.exitCode !== null) throw new Error(`sshd exited (${spawned.exitCode}): ${stderr}`)
      return accepts(port)
    }, "sshd to listen")
  }
  const kill = async () => {
    const pid = child?.pid
    if (pid === undefined || child?.exitCode !== null) return
    const victims = [pid, ...descendants(pid)]
    for (const victim of victims) {
      try {
        process.kill(victim, "SIGKILL")
      } catch {
        // Already gone.
      }
    }
    await waitFor(() => child?.exitCode !== null || child?.signalCode !== null, "sshd to exit")
    await waitFor(() => victims.every((victim) => !fs.existsSync(`/proc/${victim}`)), "sshd sessions to exit")
    child = undefined
  }
  await start()
  const sessionPids = () => (child?.pid === undefined ? [] : descendants(child.pid))
  return {
    kind: "OpenSSH",
    dir,
    port,
    hostKeyFile,
    hostPublicKey: host.publicKey,
    userKeyFile,
    userPrivateKey: user.privateKey,
    userPublicKey: user.publicKey,
    sessions: () => (child?.pid === undefined ? 0 : descendants(child.pid).length),
    sessionPids,
    authorize: (publicKey) => fs.appendFileSync(path.join(dir, "authorized_keys"), `${publicKey}\n`),
    freeze: () => {
      const frozen = sessionPids()
      for (const pid of frozen) process.kill(pid, "SIGSTOP")
      return () => {
        for (const pid of frozen) {
          try {
            process.kill(pid, "SIGKILL")
          } catch {
            // Already gone.
          }
        }
      }
    },
    kill,
    start,
    stop: async () => {
      await kill()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** A real ssh-agent on its own socket, holding the given keys. */
export const startAgent = async (dir: string, keyFiles: ReadonlyArray<string>) => {
  const socket = path.join(dir, `agent-${process.pid}-${Date.now()}.sock`)
  const child = spawn("ssh-agent", ["-D", "-a", socket], { stdio: ["ignore", "ignore", "ignore"] })
  await waitFor(() => fs.existsSync(socket), "ssh-agent to listen")
  for (const file of keyFiles) {
    execFileSync("ssh-add", ["-q", file], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: "ignore" })
  }
  return {
    socket,
    stop: async () => {
      child.kill("SIGTERM")
      await waitFor(() => child.exitCode !== null || child.signalCode !== null, "ssh-agent to exit")
    }
  }
}

export { waitFor }
