/**
 * Reaching fleet through SSH, as `fleetctl --tunnel` and python-fleet's `ssh_tunnel` do: Layers producing Effect's
 * `HttpClient` whose connections are channels of one SSH connection. HTTP endpoints are reached with
 * `direct-tcpip` channels from the tunnel host, unix-socket endpoints with OpenSSH's
 * `direct-streamlocal@openssh.com` channels (or fleetctl's `fleetctl fd-forward` exec). Host keys are checked
 * against a known_hosts file shared with fleetctl.
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as Undici from "@effect/platform-node/Undici"
import { Duration, Effect, Layer, Redacted } from "effect"
import type { HttpClient } from "effect/http"
import * as dns from "node:dns/promises"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import type { Duplex } from "node:stream"
import * as tls from "node:tls"
import type * as Ssh2 from "ssh2"
import type { Endpoint } from "./Endpoint.ts"
import { ValueError } from "./FleetError.ts"
import type { PoolOptions, TlsOptions } from "./FleetTransport.ts"
import * as KnownHosts from "./internal/ssh/knownHosts.ts"
import * as Channels from "./internal/ssh/channel.ts"
import { redactUrl } from "./internal/client/redact.ts"
import * as Tls from "./internal/client/tls.ts"
import { TunnelFailure } from "./internal/ssh/tunnelFailure.ts"

/**
 * How unix-socket endpoints are reached on the tunnel host: `"streamlocal"` opens OpenSSH's
 * `direct-streamlocal@openssh.com` channel and needs nothing installed remotely; `"fd-forward"` runs
 * `fleetctl fd-forward <socket>` as fleetctl does, for servers where stream-local forwarding is disabled.
 *
 * @since 0.1.0
 * @category models
 */
export type UnixSocketMethod = "streamlocal" | "fd-forward"

/**
 * Options of {@link layer}. Only `tunnel` and `endpoint` are required; the defaults are fleetctl's.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends PoolOptions {
  /**
   * The SSH server, `host`, `host:port` or `[ipv6]:port`; port 22 when none is given. A `user@` or
   * `user:password@` prefix is refused with a `ValueError` that shows it as `***` (the user is `username`).
   */
  readonly tunnel: string
  /** The fleet endpoint as seen from the tunnel host, e.g. `unix:///var/run/fleet.sock`. */
  readonly endpoint: Endpoint
  /** The SSH user (default `core`). */
  readonly username?: string | undefined
  /** Bounds name resolution, the TCP connect, the SSH handshake and authentication together (default 10 s). */
  readonly timeout?: Duration.Input | undefined
  /** The known_hosts file (default `~/.fleetctl/known_hosts`, fleetctl's). */
  readonly knownHostsFile?: string | undefined
  /**
   * `true` (the default): only hosts listed with a matching key are accepted. `"accept-new"`: unknown hosts are
   * accepted and appended in fleetctl's format, changed keys are still refused. `false`: any key is accepted and
   * the file is neither read nor written.
   */
  readonly strictHostKeyChecking?: boolean | "accept-new" | undefined
  /** The ssh-agent socket (default `SSH_AUTH_SOCK`); tried before any key. */
  readonly agent?: string | undefined
  /**
   * A private key in OpenSSH or PEM format, tried after the agent and before `~/.ssh/id_*`. A secret: pass it as
   * `Redacted`, e.g. `Redacted.make(fs.readFileSync(file))`.
   */
  readonly privateKey?: Redacted.Redacted<string | Uint8Array> | undefined
  /** The passphrase of an encrypted private key. */
  readonly passphrase?: Redacted.Redacted<string> | undefined
  /**
   * How long the connection may stay silent before an SSH keepalive asks the server for a sign of life (default
   * 15 s). Three unanswered in a row drop the connection, so a host that vanished without closing it is noticed and
   * the next request connects again. `"Infinity"` turns keepalives off.
   */
  readonly keepaliveInterval?: Duration.Input | undefined
  /** How unix-socket endpoints are reached (default `"streamlocal"`). */
  readonly unixSocketMethod?: UnixSocketMethod | undefined
  /** TLS settings for an `https://` endpoint behind the tunnel (TLS runs end to end, inside the channel). */
  readonly tls?: TlsOptions | undefined
}

/**
 * Options of {@link layerClient}: the SSH options are the caller's own, given when they connected.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientOptions extends PoolOptions {
  readonly endpoint: Endpoint
  readonly unixSocketMethod?: UnixSocketMethod | undefined
  readonly tls?: TlsOptions | undefined
}

type Ssh2Module = Pick<typeof Ssh2, "Client" | "utils">

// ssh2 is CommonJS and weighs a few hundred milliseconds to load: only users of a tunnel pay for it.
const loadSsh2 = Effect.promise(async (): Promise<Ssh2Module> => (await import("ssh2")).default)

// -----------------------------------------------------------------------------
// Tunnel address
// -----------------------------------------------------------------------------

interface Address {
  readonly host: string
  readonly port: number
}

const invalidPort = (port: string) => new ValueError({ message: `${port} is not a valid TCP port` })

/** Splits `host[:port]`, accepting `[ipv6]:port` and a bare IPv6 address. */
const parseTunnel = (tunnel: string): Effect.Effect<Address, ValueError> =>
  Effect.suspend(() => {
    const input = tunnel.trim()
    // fleetctl dials the address as given, so `user@host` never worked; it must not echo a `user:password@` either.
    if (redactUrl(input) !== input) {
      return Effect.fail(
        new ValueError({
          message:
            `Invalid SSH tunnel ${redactUrl(input)}: a user or password in the address is not supported ` +
            "(set the username option)"
        })
      )
    }
    let host: string
    let port: string | undefined
    const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(input)
    if (bracketed !== null) {
      host = bracketed[1] ?? ""
      port = bracketed[2]
    } else if (input.indexOf(":") !== input.lastIndexOf(":")) {
      host = input
    } else {
      const colon = input.indexOf(":")
      host = colon === -1 ? input : input.slice(0, colon)
      port = colon === -1 ? undefined : input.slice(colon + 1)
    }
    if (host === "") return Effect.fail(new ValueError({ message: `Invalid SSH tunnel ${tunnel}: missing host` }))
    if (port === undefined) return Effect.succeed({ host, port: 22 })
    const number = /^\d{1,5}$/.test(port) ? Number(port) : Number.NaN
    if (!(number >= 1 && number <= 65535)) return Effect.fail(invalidPort(port))
    return Effect.succeed({ host, port: number })
  })

const display = (address: Address) =>
  address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`

// -----------------------------------------------------------------------------
// Channels
// -----------------------------------------------------------------------------

/**
 * OpenSSH sends a command's end of output before its exit status. Handing undici that end first would turn a failed
 * `fleetctl fd-forward` into a bare "other side closed", so the end waits for the status (or the channel's close).
 */
const holdEofUntilExit = (channel: Ssh2.ClientChannel, onExit: (code: number | null) => void) => {
  let exited = false
  let held = false
  const push = channel.push.bind(channel)
  channel.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk === null && !exited && !held) {
      held = true
      return false
    }
    return push(chunk, encoding)
  }
  channel.once("exit", (code: number | null) => {
    exited = true
    onExit(code)
    if (held && !channel.destroyed) push(null)
  })
}

const shellQuote = (word: string) => (/^[A-Za-z0-9_./@%+=:,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)

const describeTarget = (endpoint: Endpoint, method: UnixSocketMethod) =>
  endpoint._tag === "Tcp"
    ? `${endpoint.hostname}:${endpoint.port}`
    : method === "fd-forward"
      ? `fleetctl fd-forward ${endpoint.socketPath}`
      : endpoint.socketPath

/** Opens one channel to the endpoint; every failure is a `TunnelFailure`. */
const openChannel = (client: Ssh2.Client, endpoint: Endpoint, method: UnixSocketMethod): Promise<Ssh2.ClientChannel> =>
  new Promise((resolve, reject) => {
    const target = describeTarget(endpoint, method)
    const done = (error: Error | undefined, channel: Ssh2.ClientChannel) => {
      if (error) reject(new TunnelFailure(`SSH channel to ${target} refused: ${error.message}`, { cause: error }))
      else resolve(channel)
    }
    try {
      if (endpoint._tag === "Tcp") client.forwardOut("127.0.0.1", 0, endpoint.hostname, endpoint.port, done)
      else if (method === "streamlocal") client.openssh_forwardOutStreamLocal(endpoint.socketPath, done)
      else {
        client.exec(`fleetctl fd-forward ${shellQuote(endpoint.socketPath)}`, (error, channel) => {
          if (error) return done(error, channel)
          // fleetctl's diagnostics arrive on stderr; an unread stderr would hold the channel's window shut.
          let stderr = ""
          channel.stderr.on("data", (chunk: Buffer) => {
            if (stderr.length < 2048) stderr += chunk.toString("utf8")
          })
          holdEofUntilExit(channel, (code) => {
            if (code === 0) return
            const detail = stderr.trim() === "" ? "" : `: ${stderr.trim()}`
            Channels.fail(channel, new TunnelFailure(`${target} on the tunnel host exited with code ${code}${detail}`))
          })
          done(undefined, channel)
        })
      }
    } catch (cause) {
      reject(new TunnelFailure(`SSH channel to ${target} could not be opened: ${String(cause)}`, { cause }))
    }
  })

/**
 * Hands undici a channel as its socket. TLS for `https://` endpoints runs inside the channel, end to end with
 * fleet, the way undici's own connector would over TCP. The TLS socket is recorded in `channels` as soon as it
 * exists, so that a dropped connection fails it rather than the channel underneath (see `internal/sshChannels`).
 */
const secure = (
  channel: Duplex,
  channels: Channels.ChannelSet,
  endpoint: Endpoint,
  options: TlsOptions | undefined
): Promise<Duplex> => {
  if (endpoint._tag !== "Tcp" || !endpoint.secure) return Promise.resolve(channel)
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      ...Tls.connectionOptions(options, endpoint.hostname),
      socket: channel,
      ALPNProtocols: ["http/1.1"]
    })
    channels.wrap(channel, socket)
    const onError = (error: Error) => {
      Channels.close(channel)
      reject(error)
    }
    socket.once("error", onError)
    socket.once("secureConnect", () => {
      socket.off("error", onError)
      resolve(socket)
    })
    channel.once("close", () => socket.destroy())
  })
}

/** Opens a channel to the endpoint (TLS inside it for `https://`), failed with the rest when the connection drops. */
const openSocket = async (
  client: Ssh2.Client,
  channels: Channels.ChannelSet,
  endpoint: Endpoint,
  method: UnixSocketMethod,
  tlsOptions: TlsOptions | undefined
): Promise<Duplex> => {
  const channel = await openChannel(client, endpoint, method)
  channels.add(channel)
  return secure(channel, channels, endpoint, tlsOptions)
}

const connector =
  (open: () => Promise<Duplex>): Undici.buildConnector.connector =>
  (_options, callback) => {
    open().then(
      // undici drives any Duplex; its connector type only names net and tls sockets.
      (socket) => callback(null, socket as unknown as net.Socket),
      (error: Error) => callback(error, null)
    )
  }

const makeDispatcher = (open: () => Promise<Duplex>, pool: PoolOptions) =>
  NodeHttpClient.makeDispatcherOptions({ connect: connector(open), ...Tls.poolSettings(pool) })

// -----------------------------------------------------------------------------
// Connecting
// -----------------------------------------------------------------------------

interface Settings {
  readonly address: Address
  readonly username: string
  readonly timeoutMs: number
  /** 0 when off, as ssh2 reads it. */
  readonly keepaliveMs: number
  readonly knownHostsFile: string
  readonly strict: boolean | "accept-new"
  readonly auth: ReadonlyArray<AuthAttempt>
}

interface AuthAttempt {
  readonly label: string
  readonly method: Ssh2.AnyAuthMethod
}

// The handshake can only verify a key type the file lists, so those are asked for first, as OpenSSH does.
const hostKeyAlgorithms = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa"
] as const

const algorithmsFor = (keyType: string): ReadonlyArray<string> =>
  keyType === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [keyType]

const preferredHostKeys = (known: ReadonlyArray<string>): Array<Ssh2.ServerHostKeyAlgorithm> => {
  const first = new Set(known.flatMap(algorithmsFor))
  return [
    ...hostKeyAlgorithms.filter((algorithm) => first.has(algorithm)),
    ...hostKeyAlgorithms.filter((algorithm) => !first.has(algorithm))
  ]
}

// OpenSSH's ServerAliveCountMax: a few lost replies are a dead peer, one may be a slow one.
const keepaliveCountMax = 3

/** Errors ssh2 reports before it moves on to the next authentication method: failed agents, unusable keys. */
const isAuthNote = (error: Error & { level?: string }) =>
  error.level === "agent" ||
  (error.level === "client-authentication" && error.message !== "All configured authentication methods failed")

const missingHostsFile = (file: string) =>
  `Strict Host Key Checking is enabled, but hosts file (${file}) does not exist or is unreadable.`

/** One attempt at an SSH connection: resolve, connect, handshake, check the host key, authenticate. */
const connectOnce = (
  ssh2: Ssh2Module,
  settings: Settings
): { readonly promise: Promise<Ssh2.Client>; readonly abort: () => void } => {
  const { address, knownHostsFile: file, strict } = settings
  let abort: () => void = () => {}
  const promise = new Promise<Ssh2.Client>((resolve, reject) => {
    let settled = false
    let socket: net.Socket | undefined
    let client: Ssh2.Client | undefined
    let phase: "resolve" | "connect" | "ssh" = "resolve"
    let hostKeyProblem: string | undefined
    const authNotes: Array<string> = []
    const fail = (message: string, cause?: unknown) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      client?.destroy()
      socket?.destroy()
      reject(new TunnelFailure(message, cause === undefined ? undefined : { cause }))
    }
    abort = () => fail("The SSH connection attempt was abandoned")
    // An infinite timeout means none; setTimeout would otherwise read it (and anything past 2^31 - 1) as 1 ms.
    const timer = Number.isFinite(settings.timeoutMs)
      ? setTimeout(
          () => {
            const after = `timed out after ${settings.timeoutMs} ms`
            if (phase === "ssh") fail(`Unable to connect via ssh: ${after} while initiating SSH connection`)
            else fail(`Unable to connect to ${display(address)}: ${after}`)
          },
          Math.min(settings.timeoutMs, 2 ** 31 - 1)
        )
      : undefined

    const start = async () => {
      let entries: ReadonlyArray<KnownHosts.Entry> = []
      if (strict !== false) {
        const text = await KnownHosts.readFile(file)
        if (text === undefined && strict === true) return fail(missingHostsFile(file))
        entries = KnownHosts.parse(text ?? "")
      }
      let ip: string
      try {
        ip = (await dns.lookup(address.host)).address
      } catch (cause) {
        return fail(`${address.host} could not be resolved.`, cause)
      }
      if (settled) return
      const host: KnownHosts.Host = { host: address.host, ip, port: address.port }
      phase = "connect"
      // Small HTTP requests in SSH packets meet Nagle's algorithm and the peer's delayed ACK: 40 ms per request.
      socket = net.connect({ host: ip, port: address.port, noDelay: true })
      socket.once("error", (error) => fail(`Unable to connect to ${display(address)}: ${error.message}`, error))
      socket.once("connect", () => {
        socket?.removeAllListeners("error")
        phase = "ssh"
        handshake(host, entries, ip)
      })
    }

    const verifyHostKey =
      (host: KnownHosts.Host, entries: ReadonlyArray<KnownHosts.Entry>, ip: string) =>
      (key: Buffer, verify: (valid: boolean) => void) => {
        if (strict === false) return verify(true)
        const offered = `${KnownHosts.keyTypeOf(key)} key ${KnownHosts.fingerprint(key)}`
        const name = KnownHosts.hostName(address.host, address.port)
        const found = KnownHosts.lookup(entries, host, key)
        switch (found._tag) {
          case "Match":
            return verify(true)
          case "Revoked":
            hostKeyProblem = `the host key of ${name} (${offered}) is marked @revoked in ${file}`
            return verify(false)
          case "Mismatch": {
            const known = found.known.map((k) => `${k.keyType} key ${k.fingerprint} (line ${k.line})`).join(", ")
            hostKeyProblem =
              `REMOTE HOST IDENTIFICATION HAS CHANGED: the host key of ${name} has changed. ` +
              `The server offered ${offered}; ${file} has ${known}. If the change is expected, remove the old ` +
              `entry with \`ssh-keygen -R "${KnownHosts.hostName(ip, address.port)}" -f ${file}\``
            return verify(false)
          }
          case "Unknown": {
            if (strict === "accept-new") {
              KnownHosts.appendLine(file, KnownHosts.formatLine(ip, address.port, key)).then(
                () => verify(true),
                (error: Error) => {
                  hostKeyProblem = `could not add ${name} to ${file}: ${error.message}`
                  verify(false)
                }
              )
              return
            }
            const keyscan = `ssh-keyscan ${address.port === 22 ? "" : `-p ${address.port} `}${address.host} >> ${file}`
            hostKeyProblem =
              `the host ${name} is not in ${file} (it offered ${offered}). Check the ` +
              `fingerprint, then add it with \`${keyscan}\`, or connect with strictHostKeyChecking: "accept-new"`
            return verify(false)
          }
        }
      }

    const handshake = (host: KnownHosts.Host, entries: ReadonlyArray<KnownHosts.Entry>, ip: string) => {
      const ssh = new ssh2.Client()
      client = ssh
      ssh.on("error", (error: Error & { level?: string }) => {
        if (isAuthNote(error)) {
          authNotes.push(error.message)
          return
        }
        if (hostKeyProblem !== undefined) return fail(`Unable to connect via ssh: ${hostKeyProblem}`, error)
        if (error.level === "client-authentication") {
          const tried = settings.auth.map((method) => method.label).join(", ")
          const notes = authNotes.length === 0 ? "" : `; ${authNotes.join("; ")}`
          return fail(
            `Unable to connect via ssh: authentication failed for user ${settings.username} (tried ${tried}${notes})`,
            error
          )
        }
        fail(`Unable to connect via ssh: ${error.message}`, error)
      })
      ssh.once("close", () => {
        fail(`Unable to connect via ssh: ${hostKeyProblem ?? "the server closed the connection during the handshake"}`)
      })
      ssh.once("ready", () => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(ssh)
      })
      const known = strict === false ? [] : KnownHosts.knownKeyTypes(entries, host)
      ssh.connect({
        sock: socket!,
        username: settings.username,
        readyTimeout: 0,
        hostVerifier: verifyHostKey(host, entries, ip),
        authHandler: settings.auth.map((method) => method.method),
        keepaliveInterval: settings.keepaliveMs,
        keepaliveCountMax,
        algorithms: { serverHostKey: preferredHostKeys(known) }
      })
    }

    start().catch((cause) => fail(`Unable to connect via ssh: ${String(cause)}`, cause))
  })
  return { promise, abort: () => abort() }
}

const keepaliveMillis = (input: Duration.Input | undefined): number => {
  const ms = Duration.toMillis(input ?? Duration.seconds(15))
  // ssh2 runs the keepalive on setInterval, which reads anything past 2^31 - 1 ms as 1 ms.
  return Number.isFinite(ms) && ms > 0 ? Math.min(Math.max(1, Math.round(ms)), 2 ** 31 - 1) : 0
}

const expandHome = (file: string) =>
  file === "~" ? os.homedir() : file.startsWith("~/") ? path.join(os.homedir(), file.slice(2)) : path.resolve(file)

const readDefaultKeys = async (): Promise<ReadonlyArray<{ readonly file: string; readonly key: Buffer }>> => {
  const keys: Array<{ file: string; key: Buffer }> = []
  for (const name of ["id_ed25519", "id_ecdsa", "id_rsa"]) {
    const file = path.join(os.homedir(), ".ssh", name)
    try {
      keys.push({ file: `~/.ssh/${name}`, key: await fs.readFile(file) })
    } catch {
      // Absent or unreadable key files are simply not offered, as OpenSSH does.
    }
  }
  return keys
}

const authMethods = (ssh2: Ssh2Module, options: Options, username: string) =>
  Effect.gen(function* () {
    const methods: Array<AuthAttempt> = []
    const agent = options.agent ?? process.env.SSH_AUTH_SOCK
    if (agent !== undefined && agent !== "") {
      methods.push({ label: `ssh-agent (${agent})`, method: { type: "agent", username, agent } })
    }
    const passphrase = options.passphrase === undefined ? undefined : Redacted.value(options.passphrase)
    if (options.privateKey !== undefined) {
      const secret = Redacted.value(options.privateKey)
      const key = typeof secret === "string" ? secret : Buffer.from(secret)
      const parsed = ssh2.utils.parseKey(key, passphrase)
      if (parsed instanceof Error) {
        // ssh2 quotes fields read from the key after a colon (its magic, cipher, type): the key stays out of it.
        const reason = parsed.message.split(":")[0] ?? "unreadable key"
        return yield* new ValueError({ message: `Unable to use the private key: ${reason}` })
      }
      methods.push({
        label: "the private key given",
        method: { type: "publickey", username, key, ...(passphrase !== undefined ? { passphrase } : {}) }
      })
    }
    for (const { file, key } of yield* Effect.promise(readDefaultKeys)) {
      methods.push({
        label: file,
        method: { type: "publickey", username, key, ...(passphrase !== undefined ? { passphrase } : {}) }
      })
    }
    if (methods.length === 0) {
      return yield* new ValueError({
        message:
          "Unable to connect via ssh: no authentication method available (no ssh-agent in SSH_AUTH_SOCK, " +
          "no privateKey option, no ~/.ssh/id_ed25519, id_ecdsa or id_rsa)"
      })
    }
    return methods
  })

/**
 * The SSH connection of one layer: made when the layer is built, made again (host key re-checked) by the first
 * request after it dropped, ended when the layer's scope closes.
 */
class Tunnel {
  readonly ssh2: Ssh2Module
  readonly settings: Settings
  current: { readonly client: Ssh2.Client; readonly channels: Channels.ChannelSet } | undefined
  pending: { readonly promise: Promise<Ssh2.Client>; readonly abort: () => void } | undefined
  closed = false

  constructor(ssh2: Ssh2Module, settings: Settings) {
    this.ssh2 = ssh2
    this.settings = settings
  }

  connect(): Promise<{ readonly client: Ssh2.Client; readonly channels: Channels.ChannelSet }> {
    if (this.closed) return Promise.reject(new TunnelFailure("The SSH tunnel is closed"))
    if (this.current !== undefined) return Promise.resolve(this.current)
    if (this.pending === undefined) {
      const attempt = connectOnce(this.ssh2, this.settings)
      this.pending = attempt
      attempt.promise.then(
        (client) => {
          this.pending = undefined
          if (this.closed) {
            client.end()
            return
          }
          const connection = { client, channels: new Channels.ChannelSet() }
          const lost = (reason: string) => () => {
            if (this.current === connection) this.current = undefined
            connection.channels.failAll(`SSH connection to ${display(this.settings.address)} ${reason}`)
          }
          client.on("error", (error: Error) => lost(`failed: ${error.message}`)())
          client.once("end", lost("was closed by the server"))
          client.once("close", lost("was lost"))
          this.current = connection
        },
        () => {
          this.pending = undefined
        }
      )
    }
    const attempt = this.pending
    return attempt.promise.then(() => {
      if (this.current === undefined) return this.connect()
      return this.current
    })
  }

  async open(endpoint: Endpoint, method: UnixSocketMethod, tlsOptions: TlsOptions | undefined): Promise<Duplex> {
    const { client, channels } = await this.connect()
    return openSocket(client, channels, endpoint, method, tlsOptions)
  }

  close(): Promise<void> {
    this.closed = true
    this.pending?.abort()
    const current = this.current
    this.current = undefined
    if (current === undefined) return Promise.resolve()
    // undici's dispatcher is closed first, so what is left here is only channels still being closed.
    current.channels.failAll("The SSH tunnel is closed")
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        current.client.destroy()
        resolve()
      }, 2000)
      current.client.once("close", () => {
        clearTimeout(timer)
        resolve()
      })
      current.client.end()
    })
  }
}

/**
 * The undici `Dispatcher` of a tunnel, for use with `NodeHttpClient.layerUndiciNoDispatcher` when you want to
 * add your own HttpClient middleware. Connects when built; see {@link layer}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDispatcher = (options: Options): Layer.Layer<NodeHttpClient.Dispatcher, ValueError> =>
  Layer.effect(NodeHttpClient.Dispatcher)(
    Effect.gen(function* () {
      const address = yield* parseTunnel(options.tunnel)
      const ssh2 = yield* loadSsh2
      const username = options.username ?? "core"
      const settings: Settings = {
        address,
        username,
        timeoutMs: Math.max(1, Duration.toMillis(options.timeout ?? Duration.seconds(10))),
        keepaliveMs: keepaliveMillis(options.keepaliveInterval),
        knownHostsFile: expandHome(options.knownHostsFile ?? "~/.fleetctl/known_hosts"),
        strict: options.strictHostKeyChecking ?? true,
        auth: yield* authMethods(ssh2, options, username)
      }
      const tunnel = yield* Effect.acquireRelease(
        Effect.sync(() => new Tunnel(ssh2, settings)),
        (tunnel) => Effect.promise(() => tunnel.close())
      )
      yield* Effect.tryPromise({
        try: () => tunnel.connect(),
        catch: (error) => new ValueError({ message: error instanceof Error ? error.message : String(error) })
      })
      const method = options.unixSocketMethod ?? "streamlocal"
      // Made after the tunnel, so released before it: undici closes its channels, then the SSH connection ends.
      return yield* makeDispatcher(() => tunnel.open(options.endpoint, method, options.tls), options)
    })
  )

/**
 * An `HttpClient` whose requests travel through one SSH connection to the tunnel host, then on to the endpoint.
 * Building the layer connects, checks the host key and authenticates (the agent, then `privateKey`, then
 * `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`); any failure there is a `ValueError` with python-fleet's message.
 * Later, a dropped connection fails the requests in flight with a tunnel transport error, and the next request
 * connects again. Closing the layer's scope ends the SSH connection.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Endpoint, Fleet, FleetSsh } from "effect-fleet"
 *
 * // fleet's API on /var/run/fleet.sock of 10.0.0.5, reached as core@10.0.0.5 through ssh-agent
 * const FleetLive = Layer.unwrap(
 *   Effect.map(Endpoint.parse("unix:///var/run/fleet.sock"), (endpoint) =>
 *     Fleet.layerHttpClient({ baseUrl: endpoint.baseUrl }).pipe(
 *       Layer.provide(FleetSsh.layer({ tunnel: "10.0.0.5", endpoint, strictHostKeyChecking: "accept-new" }))
 *     ))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<HttpClient.HttpClient, ValueError> =>
  NodeHttpClient.layerUndiciNoDispatcher.pipe(Layer.provide(layerDispatcher(options)))

/**
 * How far a caller's ssh2 `Client` has got. ssh2 exposes no such state, so its internals are read: the socket it was
 * given by `connect()` and whether its protocol has authenticated. Should those internals ever change shape, the
 * client is taken as ready, as the caller promised.
 */
const clientState = (client: Ssh2.Client): "unconnected" | "connecting" | "ready" | "closed" => {
  const internals = client as unknown as {
    readonly _sock?: { readonly destroyed?: boolean; readonly writable?: boolean } | undefined
    readonly _protocol?: { readonly _authenticated?: unknown } | undefined
  }
  if (!("_sock" in internals) || !("_protocol" in internals)) return "ready"
  const socket = internals._sock
  if (socket === undefined || socket === null) return "unconnected"
  if (socket.destroyed === true || socket.writable === false) return "closed"
  const authenticated = internals._protocol?._authenticated
  return authenticated === false ? "connecting" : "ready"
}

/**
 * Waits for a caller's client to be "ready", so that a layer built right after `connect()` opens its channels on an
 * authenticated connection. ssh2's own `readyTimeout` (20 s unless the caller changed it) bounds the wait.
 */
const awaitReady = (client: Ssh2.Client): Effect.Effect<void, ValueError> =>
  // The state is read where the listeners are added, so no event can fall between the two.
  Effect.callback<void, ValueError>((resume) => {
    const fail = (reason: string) =>
      resume(Effect.fail(new ValueError({ message: `Unable to connect via ssh: ${reason}` })))
    switch (clientState(client)) {
      case "ready":
        return resume(Effect.void)
      case "unconnected":
        return fail("the ssh2 Client is not connected; call connect() first")
      case "closed":
        return fail("the ssh2 Client's connection is closed")
    }
    const notes: Array<string> = []
    const stop = () => {
      client.off("ready", onReady)
      client.off("error", onError)
      client.off("close", onClose)
    }
    const onReady = () => {
      stop()
      resume(Effect.void)
    }
    const onError = (error: Error & { level?: string }) => {
      if (isAuthNote(error)) return notes.push(error.message)
      stop()
      fail(error.message)
    }
    const onClose = () => {
      stop()
      fail(`the connection closed before it was ready${notes.length === 0 ? "" : ` (${notes.join("; ")})`}`)
    }
    client.once("ready", onReady)
    client.on("error", onError)
    client.once("close", onClose)
    return Effect.sync(stop)
  })

/**
 * An `HttpClient` over an ssh2 `Client` you connected yourself (python-fleet's `ssh_raw_transport`): your
 * connection, your authentication and host key policy. Building the layer waits for the client's "ready" when it
 * is still connecting, and fails with a `ValueError` if it errors or closes first. The layer opens channels on it
 * and never closes it; if it drops, requests fail with a tunnel transport error and nothing reconnects.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import type { Client } from "ssh2"
 * import { Endpoint, Fleet, FleetSsh } from "effect-fleet"
 *
 * declare const connection: Client // connect() called (the layer waits for "ready"), closed by you
 * const FleetLive = Layer.unwrap(
 *   Effect.map(Endpoint.parse("unix:///var/run/fleet.sock"), (endpoint) =>
 *     Fleet.layerHttpClient({ baseUrl: endpoint.baseUrl }).pipe(
 *       Layer.provide(FleetSsh.layerClient(connection, { endpoint }))
 *     ))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient = (
  client: Ssh2.Client,
  options: ClientOptions
): Layer.Layer<HttpClient.HttpClient, ValueError> =>
  NodeHttpClient.layerUndiciNoDispatcher.pipe(
    Layer.provide(
      Layer.effect(NodeHttpClient.Dispatcher)(
        Effect.gen(function* () {
          yield* awaitReady(client)
          const channels = new Channels.ChannelSet()
          const lost = () => channels.failAll("The SSH connection was lost")
          // Without it each small request waits out Nagle's algorithm against the server's delayed ACK (~40 ms).
          client.setNoDelay(true)
          yield* Effect.acquireRelease(
            Effect.sync(() => {
              client.on("end", lost)
              client.on("close", lost)
            }),
            () =>
              Effect.sync(() => {
                client.off("end", lost)
                client.off("close", lost)
              })
          )
          const method = options.unixSocketMethod ?? "streamlocal"
          return yield* makeDispatcher(
            () => openSocket(client, channels, options.endpoint, method, options.tls),
            options
          )
        })
      )
    )
  )
