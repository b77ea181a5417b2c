/**
 * One attempt at an SSH connection: read known_hosts, resolve, connect, handshake, judge the host key,
 * authenticate. The whole attempt is bounded by one timeout; interrupting it closes whatever was opened.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as dns from "node:dns/promises"
import * as net from "node:net"
import type * as Ssh2 from "ssh2"
import { type Address, display } from "./address.ts"
import * as Auth from "./auth.ts"
import * as HostKey from "./hostKey.ts"
import * as KnownHosts from "./knownHosts.ts"
import { TunnelFailure } from "./tunnelFailure.ts"

/**
 * Everything an attempt needs, settled once when the connection is configured.
 *
 * @since 0.2.0
 * @internal
 */
export interface Settings {
  readonly address: Address
  readonly username: string
  /** Bounds the whole attempt; `Infinity` for none. */
  readonly timeoutMs: number
  /** 0 when off, as ssh2 reads it. */
  readonly keepaliveMs: number
  readonly knownHostsFile: string
  readonly policy: HostKey.Policy
  readonly auth: ReadonlyArray<Auth.Attempt>
}

// OpenSSH's ServerAliveCountMax: a few lost replies are a dead peer, one may be a slow one.
const keepaliveCountMax = 3

/**
 * ssh2 runs keepalives on setInterval, which reads anything past 2^31 - 1 ms as 1 ms.
 *
 * @since 0.2.0
 * @internal
 */
export const keepaliveMillis = (input: Duration.Input | undefined): number => {
  const ms = Duration.toMillis(input ?? Duration.seconds(15))
  return Number.isFinite(ms) && ms > 0 ? Math.min(Math.max(1, Math.round(ms)), 2 ** 31 - 1) : 0
}

const readKnown = (settings: Settings): Effect.Effect<HostKey.Known, TunnelFailure> =>
  Effect.gen(function* () {
    const file = settings.knownHostsFile
    if (settings.policy === false) return { file, entries: [] }
    const text = yield* Effect.tryPromise({
      try: () => KnownHosts.readFile(file),
      catch: (cause) =>
        new TunnelFailure(`Unable to connect via ssh: ${cause instanceof Error ? cause.message : String(cause)}`, {
          cause
        })
    })
    if (text === undefined && settings.policy === true)
      return yield* Effect.fail(new TunnelFailure(HostKey.missingFile(file)))
    return { file, entries: KnownHosts.parse(text ?? "") }
  })

const resolve = (host: string): Effect.Effect<string, TunnelFailure> =>
  Effect.tryPromise({
    try: () => dns.lookup(host),
    catch: (cause) => new TunnelFailure(`${host} could not be resolved.`, { cause })
  }).pipe(Effect.map((found) => found.address))

// Listens on a connected socket until ssh2 takes it over, so that a reset in between is not thrown.
const beforeHandshake = () => {}

const tcpConnect = (
  address: Address,
  ip: string,
  opened: (socket: net.Socket) => void
): Effect.Effect<net.Socket, TunnelFailure> =>
  Effect.callback((resume) => {
    // Small HTTP requests in SSH packets meet Nagle's algorithm and the peer's delayed ACK: 40 ms per request.
    const socket = net.connect({ host: ip, port: address.port, noDelay: true })
    opened(socket)
    const onError = (error: Error) =>
      resume(
        Effect.fail(new TunnelFailure(`Unable to connect to ${display(address)}: ${error.message}`, { cause: error }))
      )
    socket.once("error", onError)
    socket.once("connect", () => {
      socket.off("error", onError)
      socket.on("error", beforeHandshake)
      resume(Effect.succeed(socket))
    })
    return Effect.sync(() => socket.destroy())
  })

/**
 * Records a new host key (accept-new), judging it again against the file as it is now, with the file to itself:
 * concurrent first connections, here or in other processes, write one line per host key.
 */
const record = (policy: HostKey.Policy, file: string, host: KnownHosts.Host, key: Buffer) =>
  KnownHosts.exclusive(file, async () => {
    const entries = KnownHosts.parse((await KnownHosts.readFile(file)) ?? "")
    const verdict = HostKey.judge(policy, { file, entries }, host, key)
    if (verdict._tag === "Record") await KnownHosts.appendLine(file, verdict.line)
    return verdict
  })

const handshake = (
  Client: typeof Ssh2.Client,
  socket: net.Socket,
  settings: Settings,
  known: HostKey.Known,
  host: KnownHosts.Host,
  opened: (client: Ssh2.Client) => void = () => {}
): Effect.Effect<Ssh2.Client, TunnelFailure> =>
  Effect.callback((resume) => {
    const client = new Client()
    opened(client)
    const notes: Array<string> = []
    // Set by the host key check, which ssh2 only reports afterwards as a bare "verification failed".
    let refusal: string | undefined
    let settled = false
    const fail = (reason: string, cause?: unknown) => {
      if (settled) return
      settled = true
      client.destroy()
      socket.destroy()
      resume(
        Effect.fail(
          new TunnelFailure(`Unable to connect via ssh: ${reason}`, cause === undefined ? undefined : { cause })
        )
      )
    }
    // Stays for the client's life: ssh2 throws an "error" nobody listens to. The tunnel adds its own listener.
    client.on("error", (error: Error & { level?: string }) => {
      if (Auth.isNote(error)) return void notes.push(error.message)
      if (refusal !== undefined) return fail(refusal, error)
      if (error.level === "client-authentication") {
        const tried = settings.auth.map((attempt) => attempt.label).join(", ")
        const detail = notes.length === 0 ? "" : `; ${notes.join("; ")}`
        return fail(`authentication failed for user ${settings.username} (tried ${tried}${detail})`, error)
      }
      fail(error.message, error)
    })
    const onClose = () => fail(refusal ?? "the server closed the connection during the handshake")
    client.once("close", onClose)
    client.once("ready", () => {
      if (settled) return
      settled = true
      client.off("close", onClose)
      resume(Effect.succeed(client))
    })
    const hostVerifier = (key: Buffer, verify: (valid: boolean) => void) => {
      const verdict = HostKey.judge(settings.policy, known, host, key)
      switch (verdict._tag) {
        case "Accept":
          return verify(true)
        case "Refuse":
          refusal = verdict.reason
          return verify(false)
        case "Record":
          record(settings.policy, known.file, host, key).then(
            (final) => {
              if (final._tag === "Refuse") refusal = final.reason
              verify(final._tag !== "Refuse")
            },
            (error: Error) => {
              refusal = `could not add ${KnownHosts.hostName(host.host, host.port)} to ${known.file}: ${error.message}`
              verify(false)
            }
          )
      }
    }
    client.connect({
      sock: socket,
      username: settings.username,
      readyTimeout: 0,
      hostVerifier,
      authHandler: settings.auth.map((attempt) => attempt.method),
      keepaliveInterval: settings.keepaliveMs,
      keepaliveCountMax,
      algorithms: { serverHostKey: HostKey.preferredAlgorithms(known, host) }
    })
    socket.off("error", beforeHandshake)
    return Effect.sync(() => {
      settled = true
      client.destroy()
      socket.destroy()
    })
  })

/**
 * Connects once. Every failure is a `TunnelFailure` carrying python-fleet's message. `opened` is told of the client
 * as soon as it exists, so that a caller interrupted after this succeeded, before it took the client, can end it.
 *
 * @since 0.2.0
 * @internal
 */
export const connect = (
  Client: typeof Ssh2.Client,
  settings: Settings,
  opened: (client: Ssh2.Client) => void = () => {}
): Effect.Effect<Ssh2.Client, TunnelFailure> =>
  Effect.suspend(() => {
    const { address } = settings
    // Which step the timeout cut short decides its message, as in python-fleet.
    let phase: "address" | "ssh" = "address"
    // Known from the moment they exist rather than from when they are handed back: an interruption between the
    // two (the fiber may yield anywhere) would otherwise leave an open socket, or client, that nobody holds.
    let socket: net.Socket | undefined
    let client: Ssh2.Client | undefined
    const attempt = Effect.gen(function* () {
      const known = yield* readKnown(settings)
      const ip = yield* resolve(address.host)
      const connected = yield* tcpConnect(address, ip, (opening) => {
        socket = opening
      })
      phase = "ssh"
      const host = { host: address.host, ip, port: address.port }
      return yield* handshake(Client, connected, settings, known, host, (made) => {
        client = made
        opened(made)
      })
    }).pipe(
      Effect.onError(() =>
        Effect.sync(() => {
          client?.destroy()
          socket?.destroy()
        })
      )
    )
    if (!Number.isFinite(settings.timeoutMs)) return attempt
    return attempt.pipe(
      Effect.timeoutOrElse({
        duration: Duration.millis(Math.min(settings.timeoutMs, 2 ** 31 - 1)),
        orElse: () => {
          const after = `timed out after ${settings.timeoutMs} ms`
          return Effect.fail(
            new TunnelFailure(
              phase === "ssh"
                ? `Unable to connect via ssh: ${after} while initiating SSH connection`
                : `Unable to connect to ${display(address)}: ${after}`
            )
          )
        }
      })
    )
  })

/**
 * Connects over a stream that is already open to the SSH server (a channel through another SSH connection, for a
 * machine reached through a tunnel host): the same known_hosts check and authentication as {@link connect}, bounded
 * by the same timeout. `address` names the server for the host key check.
 *
 * @since 0.2.0
 * @internal
 */
export const connectOver = (
  Client: typeof Ssh2.Client,
  socket: net.Socket,
  settings: Settings
): Effect.Effect<Ssh2.Client, TunnelFailure> =>
  Effect.gen(function* () {
    const known = yield* readKnown(settings)
    const host = { host: settings.address.host, ip: settings.address.host, port: settings.address.port }
    return yield* handshake(Client, socket, settings, known, host)
  }).pipe(
    Effect.timeoutOrElse({
      duration: Duration.millis(
        Math.min(Number.isFinite(settings.timeoutMs) ? settings.timeoutMs : 2 ** 31 - 1, 2 ** 31 - 1)
      ),
      orElse: () =>
        Effect.fail(
          new TunnelFailure(
            `Unable to connect via ssh: timed out after ${settings.timeoutMs} ms while initiating SSH connection`
          )
        )
    })
  )
