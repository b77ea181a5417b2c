/**
 * SSH servers for the tunnel tests. `backends()` lists an in-process server built on ssh2's own `Server`, which
 * needs nothing installed, and the real OpenSSH `sshd` when it is installed; tests that hold for any SSH server run
 * against each. Set `EFFECT_FLEET_NO_OPENSSH=1` to run as on a machine without OpenSSH (no sshd, ssh-keygen or
 * ssh-agent).
 *
 * The in-process server does what the tunnel needs of a server: public-key authentication against authorized keys,
 * `direct-tcpip`, `direct-streamlocal@openssh.com`, and an exec of `fleetctl fd-forward <socket>` (run by the
 * server itself rather than by a shell). Its TCP connections are its own, so a test can kill them, restart the
 * server on the same port, or freeze them as a host that stopped answering.
 */
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import type * as Ssh2 from "ssh2"
import { freePort } from "./net.ts"
import { keygen as opensshKeygen, startSshd, tcpConnections, waitFor } from "./sshd.ts"

export interface SshTestServer {
  /** What the server is, as test names show it. */
  readonly kind: "OpenSSH" | "in-process ssh2"
  readonly dir: string
  readonly port: number
  /** The host's private key file; the public key is beside it in `<file>.pub`. */
  readonly hostKeyFile: string
  /** The host's public key line, `ssh-ed25519 AAAA... comment`. */
  readonly hostPublicKey: string
  readonly userKeyFile: string
  readonly userPrivateKey: string
  readonly userPublicKey: string
  /** Accepts one more user key. */
  readonly authorize: (publicKey: string) => void
  /** The client connections the server holds open now. */
  readonly sessions: () => number
  /**
   * Stops answering on every open connection without closing any, as a host that froze; the returned function
   * drops those connections.
   */
  readonly freeze: () => () => void
  /** Drops every connection and stops listening, as if the host went away. */
  readonly kill: () => Promise<void>
  /** Listens again on the same port with the same keys. */
  readonly start: () => Promise<void>
  readonly stop: () => Promise<void>
}

const hidden = () => process.env.EFFECT_FLEET_NO_OPENSSH === "1"

const executable = (file: string) => {
  try {
    fs.accessSync(file, fs.constants.X_OK)
    return true
  } catch {
    return false
  }
}

const onPath = (name: string) =>
  (process.env.PATH ?? "").split(path.delimiter).some((dir) => dir !== "" && executable(path.join(dir, name)))

/** Whether OpenSSH's tools are here: sshd for the server, ssh-keygen and ssh-agent for the cross-checks. */
export const openssh = {
  sshd: (): boolean => !hidden() && executable("/usr/sbin/sshd") && onPath("ssh-keygen"),
  keygen: (): boolean => !hidden() && onPath("ssh-keygen"),
  agent: (): boolean => !hidden() && onPath("ssh-agent") && onPath("ssh-add")
}

const loadSsh2 = async () => (await import("ssh2")).default

/**
 * A new ed25519 key in `file` and `<file>.pub`: made by ssh-keygen when it is installed, by ssh2 otherwise (the
 * same OpenSSH formats).
 */
export const keygen = async (file: string, passphrase = "") => {
  if (openssh.keygen()) return opensshKeygen(file, "ed25519", passphrase)
  const { utils } = await loadSsh2()
  const options = passphrase === "" ? {} : { passphrase, cipher: "aes256-ctr", rounds: 16 }
  const pair = utils.generateKeyPairSync("ed25519", { comment: "effect-fleet-test", ...options })
  fs.writeFileSync(file, pair.private, { mode: 0o600 })
  fs.writeFileSync(`${file}.pub`, `${pair.public}\n`)
  return { privateKey: fs.readFileSync(file, "utf8"), publicKey: fs.readFileSync(`${file}.pub`, "utf8").trim() }
}

const unquote = (word: string) =>
  word.startsWith("'") && word.endsWith("'") ? word.slice(1, -1).replace(/'\\''/g, "'") : word

/** `fleetctl fd-forward <socket>` as the stand-in under OpenSSH runs it: the channel spliced to the unix socket. */
const fdForward = (channel: Ssh2.ServerChannel, command: string) => {
  const match = /^fleetctl fd-forward (.+)$/.exec(command)
  if (match === null) {
    channel.stderr.write(`sh: 1: ${command.split(" ")[0]}: not found\n`)
    channel.exit(127)
    return channel.end()
  }
  const socket = net.connect(unquote(match[1] ?? ""))
  socket.once("error", (error) => {
    // As a process's would, the message goes out before the exit status.
    channel.stderr.write(`fleetctl: ${error.message}\n`, () => {
      channel.exit(1)
      channel.end()
    })
  })
  socket.once("connect", () => {
    channel.pipe(socket)
    socket.pipe(channel)
    socket.once("close", () => {
      channel.exit(0)
      channel.end()
    })
  })
  channel.once("close", () => socket.destroy())
}

/** Accepts a forwarding channel once the connection to its destination is made, and splices the two. */
const splice = (accept: () => Ssh2.ServerChannel, reject: () => void, destination: net.NetConnectOpts) => {
  const socket = net.connect(destination)
  socket.once("error", () => reject())
  socket.once("connect", () => {
    socket.removeAllListeners("error")
    const channel = accept()
    socket.on("error", () => channel.close())
    channel.on("error", () => socket.destroy())
    channel.pipe(socket)
    socket.pipe(channel)
    channel.once("close", () => socket.destroy())
    socket.once("close", () => channel.close())
  })
}

/**
 * Client ends of connections to the port that have not yet taken in their peer's close (ESTABLISHED or
 * CLOSE_WAIT in /proc/net/tcp): a killed OpenSSH takes long enough to die that clients have noticed by then.
 */
const clientsStillOpen = (port: number): number => tcpConnections(port, "remote", ["01", "08"])

export const startInProcess = async (): Promise<SshTestServer> => {
  const { Server, utils } = await loadSsh2()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-ssh2d-"))
  const hostKeyFile = path.join(dir, "host_ed25519")
  const host = await keygen(hostKeyFile)
  const userKeyFile = path.join(dir, "user_ed25519")
  const user = await keygen(userKeyFile)
  const authorized: Array<Ssh2.ParsedKey> = []
  const authorize = (publicKey: string) => {
    const parsed = utils.parseKey(publicKey)
    if (parsed instanceof Error) throw parsed
    authorized.push(Array.isArray(parsed) ? parsed[0] : parsed)
  }
  authorize(user.publicKey)

  const ssh = new Server({ hostKeys: [host.privateKey] }, (client) => {
    client.on("error", () => {})
    client.on("authentication", (context) => {
      if (context.method !== "publickey") return context.reject(["publickey"])
      const key = authorized.find(
        (known) => known.type === context.key.algo && known.getPublicSSH().equals(context.key.data)
      )
      if (key === undefined) return context.reject(["publickey"])
      if (
        context.signature !== undefined &&
        key.verify(context.blob ?? Buffer.alloc(0), context.signature, context.hashAlgo) !== true
      ) {
        return context.reject(["publickey"])
      }
      context.accept()
    })
    client.on("ready", () => {
      client.on("tcpip", (accept, reject, info) => splice(accept, reject, { host: info.destIP, port: info.destPort }))
      client.on("openssh.streamlocal", (accept, reject, info) => splice(accept, reject, { path: info.socketPath }))
      client.on("session", (accept) => {
        accept().on("exec", (acceptExec, _reject, info) => fdForward(acceptExec(), info.command))
      })
    })
  })

  const sockets = new Set<net.Socket>()
  const port = await freePort()
  let listener: net.Server | undefined
  const start = async () => {
    const server = net.createServer((socket) => {
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
      socket.on("error", () => {})
      ssh.injectSocket(socket)
    })
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(port, "127.0.0.1", () => resolve())
    })
    listener = server
  }
  const kill = async () => {
    for (const socket of sockets) socket.destroy()
    const server = listener
    listener = undefined
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()))
    await waitFor(() => clientsStillOpen(port) === 0, "the clients to see the server go")
  }
  await start()
  return {
    kind: "in-process ssh2",
    dir,
    port,
    hostKeyFile,
    hostPublicKey: host.publicKey,
    userKeyFile,
    userPrivateKey: user.privateKey,
    userPublicKey: user.publicKey,
    authorize,
    sessions: () => sockets.size,
    freeze: () => {
      const now = [...sockets]
      for (const socket of now) {
        // Neither reads nor writes: the kernel still holds the connection, as for a stopped sshd session.
        socket.pause()
        socket.write = () => true
      }
      return () => {
        for (const socket of now) socket.destroy()
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

/** The SSH servers this machine can run: the in-process one always, OpenSSH's sshd when installed. */
export const backends = (): ReadonlyArray<{ readonly name: string; readonly start: () => Promise<SshTestServer> }> => [
  { name: "in-process ssh2", start: startInProcess },
  ...(openssh.sshd() ? [{ name: "OpenSSH", start: startSshd }] : [])
]
