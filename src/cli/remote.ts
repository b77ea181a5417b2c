/**
 * Running fleetctl's remote commands (`systemctl status -l`, `journalctl`, a shell) on a unit's machine: over SSH
 * with the API tunnel's host-key rules and credentials (the same connect as `SshConnection`), or locally when the
 * machine is this one (fleetctl compares `/etc/machine-id`). Loaded only by the commands that need it, so ssh2 costs
 * the other commands nothing.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as nodePath from "node:path"
import { spawn } from "node:child_process"
import type * as Ssh2 from "ssh2"
import * as Address from "../internal/ssh/address.ts"
import * as Auth from "../internal/ssh/auth.ts"
import * as Channel from "../internal/ssh/channel.ts"
import * as Connect from "../internal/ssh/connect.ts"
import type { Globals } from "./globals.ts"
import type { CliIOService } from "./io.ts"

/** fleetctl's `machine.IsLocalMachineID`. */
export const isLocalMachine = (id: string): boolean => {
  try {
    return fs.readFileSync("/etc/machine-id", "utf8").trim() === id
  } catch {
    return false
  }
}

/** Go's `%q` of a string, as fleetctl quotes the arguments of a remote command. */
export const goQuote = (arg: string): string => JSON.stringify(arg)

const expandHome = (file: string) =>
  file === "~"
    ? os.homedir()
    : file.startsWith("~/")
      ? nodePath.join(os.homedir(), file.slice(2))
      : nodePath.resolve(file)

/**
 * A connected SSH client to `addr` (`host` or `host:port`), closed with the scope. Through `--tunnel`, the machine is
 * reached over a channel of an SSH connection to the tunnel host (fleetctl's `NewTunnelledSSHClient`); both hops
 * are checked against the known_hosts file. Failures are messages.
 */
export const connect = (globals: Globals, addr: string): Effect.Effect<Ssh2.Client, string, Scope.Scope> =>
  Effect.gen(function* () {
    const address = yield* Effect.mapError(Address.parse(addr), (error) => error.message)
    const ssh2 = (yield* Effect.promise(() => import("ssh2"))).default
    const username = globals.sshUsername
    const auth = yield* Effect.mapError(Auth.methods(ssh2.utils.parseKey, {}, username), (error) => error.message)
    const settings: Connect.Settings = {
      address,
      username,
      timeoutMs: Math.max(1, globals.sshTimeout * 1000),
      keepaliveMs: 0,
      knownHostsFile: expandHome(globals.knownHostsFile),
      policy: globals.strictHostKeyChecking,
      auth
    }
    const release = (client: Ssh2.Client) => Effect.sync(() => client.end())
    if (globals.tunnel === "") {
      return yield* Effect.acquireRelease(
        Effect.mapError(Connect.connect(ssh2.Client, settings), (failure) => failure.message),
        release
      )
    }
    const tunnelAddress = yield* Effect.mapError(Address.parse(globals.tunnel), (error) => error.message)
    const bastion = yield* Effect.acquireRelease(
      Effect.mapError(Connect.connect(ssh2.Client, { ...settings, address: tunnelAddress }), (f) => f.message),
      release
    )
    const channel = yield* Effect.mapError(Channel.forwardTcp(bastion, address.host, address.port), (f) => f.message)
    return yield* Effect.acquireRelease(
      Effect.mapError(Connect.connectOver(ssh2.Client, channel as unknown as net.Socket, settings), (f) => f.message),
      release
    )
  })

/**
 * Runs `command` on the client, its output to the CLI's streams, and returns its exit status (fleetctl's
 * `ssh.Execute`). With `pty`, a terminal is requested and stdin is forwarded (interactive commands).
 */
export const execute = (
  client: Ssh2.Client,
  command: string,
  io: CliIOService,
  pty = false
): Effect.Effect<number, string> =>
  Effect.suspend(() => {
    const options: Ssh2.ExecOptions = pty ? { pty: terminal() } : {}
    return session((callback) => client.exec(command, options, callback), io, -1, pty)
  })

/** An interactive shell with a pty, stdin in raw mode (fleetctl's `ssh.Shell`). Returns the shell's exit status. */
export const shell = (client: Ssh2.Client, io: CliIOService): Effect.Effect<number, string> =>
  session((callback) => client.shell(terminal(), callback), io, 0, true)

/**
 * Opens a session channel with `open`, its output to the CLI's streams and, with `stdin`, the terminal's input to
 * it; succeeds with the exit status (`noStatus` when the remote sent none) once the channel closes.
 */
const session = (
  open: (callback: (error: Error | undefined, channel: Ssh2.ClientChannel) => void) => void,
  io: CliIOService,
  noStatus: number,
  stdin: boolean
): Effect.Effect<number, string> =>
  Effect.callback<number, string>((resume) => {
    let stream: Ssh2.ClientChannel | undefined
    open((error, channel) => {
      if (error) return resume(Effect.fail(error.message))
      stream = channel
      let code = noStatus
      const out = new TextDecoder()
      const err = new TextDecoder()
      channel.on("data", (chunk: Buffer) => io.stdout(out.decode(chunk, { stream: true })))
      channel.stderr.on("data", (chunk: Buffer) => io.stderr(err.decode(chunk, { stream: true })))
      channel.on("exit", (status: number | null) => {
        code = status ?? noStatus
      })
      if (stdin) attachStdin(channel)
      channel.on("close", () => {
        detachStdin()
        resume(Effect.succeed(code))
      })
    })
    return Effect.sync(() => {
      detachStdin()
      stream?.close()
    })
  })

const terminal = (): Ssh2.PseudoTtyOptions => ({
  term: process.env.TERM ?? "xterm",
  rows: process.stdout.rows ?? 24,
  cols: process.stdout.columns ?? 80
})

let detach: (() => void) | undefined

const attachStdin = (channel: Ssh2.ClientChannel) => {
  const stdin = process.stdin
  const raw = stdin.isTTY === true
  if (raw) stdin.setRawMode(true)
  const onData = (chunk: Buffer) => channel.write(chunk)
  const onEnd = () => channel.end()
  const onResize = () => channel.setWindow(process.stdout.rows ?? 24, process.stdout.columns ?? 80, 0, 0)
  stdin.on("data", onData)
  stdin.once("end", onEnd)
  process.stdout.on("resize", onResize)
  stdin.resume()
  detach = () => {
    stdin.off("data", onData)
    stdin.off("end", onEnd)
    process.stdout.off("resize", onResize)
    if (raw) stdin.setRawMode(false)
    stdin.pause()
    detach = undefined
  }
}

const detachStdin = () => detach?.()

/** fleetctl's `runLocalCommand`: the command on this machine, its output to the CLI's streams. */
export const runLocal = (
  command: string,
  args: ReadonlyArray<string>,
  io: CliIOService
): Effect.Effect<number, string> =>
  Effect.callback<number, string>((resume) => {
    const child = spawn(command, [...args], { stdio: ["inherit", "pipe", "pipe"] })
    child.stdout.on("data", (chunk: Buffer) => io.stdout(chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => io.stderr(chunk.toString()))
    child.once("error", (error) => resume(Effect.fail(error.message)))
    child.once("close", (code) => resume(Effect.succeed(code ?? -1)))
    return Effect.sync(() => child.kill())
  })

/**
 * fleetctl's `fd-forward`: stdin to the unix socket, the socket to stdout. When stdin ends the socket is half-closed
 * and the answer still read (fleetctl stops at the first direction that ends). A socket that cannot be dialed is
 * fleetctl's message and exit 0.
 */
export const fdForward = (socketPath: string, io: CliIOService): Effect.Effect<number> =>
  Effect.callback<number>((resume) => {
    const socket = net.connect(socketPath)
    let connected = false
    const onStdin = (chunk: Buffer) => socket.write(chunk)
    const onEnd = () => socket.end()
    socket.once("connect", () => {
      connected = true
      process.stdin.on("data", onStdin)
      process.stdin.once("end", onEnd)
    })
    // Bytes, not text: what goes through is an HTTP exchange.
    socket.on("data", (chunk: Buffer) => process.stdout.write(chunk))
    socket.once("error", (error: NodeJS.ErrnoException) => {
      if (connected) {
        io.stderr(`Encountered error during copy: ${error.message}\n`)
        return resume(Effect.succeed(1))
      }
      const why =
        error.code === "ENOENT"
          ? "no such file or directory"
          : error.code === "ECONNREFUSED"
            ? "connection refused"
            : error.message
      io.stderr(`Failed dialing remote address: dial unix ${socketPath}: connect: ${why}\n`)
      resume(Effect.succeed(0))
    })
    socket.once("close", () => resume(Effect.succeed(0)))
    return Effect.sync(() => {
      process.stdin.off("data", onStdin)
      process.stdin.off("end", onEnd)
      socket.destroy()
    })
  })
