/**
 * An SSH connection as a service, as `fleetctl --tunnel` and python-fleet's `ssh_tunnel` make it: one connection to
 * the tunnel host, channels opened on it to wherever fleet listens there. `make` and `layer` connect, check the
 * host key against a known_hosts file shared with fleetctl, authenticate, and connect again after a drop;
 * `fromClient` and `layerFromClient` use an ssh2 `Client` you connected and own. `FleetSsh` carries HTTP over it.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as os from "node:os"
import * as path from "node:path"
import type { Duplex } from "node:stream"
import type * as Ssh2 from "ssh2"
import { TransportError, ValueError } from "./FleetError.ts"
import * as Address from "./internal/ssh/address.ts"
import * as Auth from "./internal/ssh/auth.ts"
import * as Channel from "./internal/ssh/channel.ts"
import * as Connect from "./internal/ssh/connect.ts"
import * as FdForward from "./internal/ssh/fdForward.ts"
import * as Tunnel from "./internal/ssh/tunnel.ts"
import { isTunnelFailure, TunnelFailure } from "./internal/ssh/tunnelFailure.ts"

/**
 * How a unix socket on the tunnel host is reached: `"streamlocal"` opens OpenSSH's `direct-streamlocal@openssh.com`
 * channel and needs nothing installed remotely; `"fd-forward"` runs `fleetctl fd-forward <socket>` as fleetctl
 * does, for servers where stream-local forwarding is disabled.
 *
 * @since 0.2.0
 * @category models
 */
export type UnixSocketMethod = "streamlocal" | "fd-forward"

/**
 * Where a channel leads, as seen from the tunnel host: a TCP port or a unix socket.
 *
 * @since 0.2.0
 * @category models
 */
export type Target =
  | { readonly _tag: "Tcp"; readonly host: string; readonly port: number }
  | { readonly _tag: "Unix"; readonly socketPath: string; readonly method?: UnixSocketMethod | undefined }

/**
 * An open SSH connection: opens channels on it. A channel is a `Duplex`, closed by its reader with `destroy()`;
 * when the connection drops, each open channel emits an "error" and closes.
 *
 * @since 0.2.0
 * @category services
 */
export class SshConnection extends Context.Service<
  SshConnection,
  {
    /** The SSH server as messages name it, e.g. `10.0.0.5:22`. */
    readonly name: string
    /**
     * Opens a channel to the target, connecting first if the connection dropped. Fails with a `TransportError`
     * of reason `Tunnel` when the connection cannot be made or the server refuses the channel.
     */
    readonly channel: (target: Target) => Effect.Effect<Duplex, TransportError>
  }
>()("effect-fleet/SshConnection") {}

/**
 * Options of {@link make}. Only `tunnel` is required; the defaults are fleetctl's.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /**
   * The SSH server, `host`, `host:port` or `[ipv6]:port`; port 22 when none is given. A `user@` or
   * `user:password@` prefix is refused with a `ValueError` that shows it as `***` (the user is `username`).
   */
  readonly tunnel: string
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
   * the next channel connects again. `"Infinity"` turns keepalives off.
   */
  readonly keepaliveInterval?: Duration.Input | undefined
}

type Ssh2Module = Pick<typeof Ssh2, "Client" | "utils">

// ssh2 is CommonJS and weighs a few hundred milliseconds to load: only users of a tunnel pay for it.
const loadSsh2 = Effect.promise(async (): Promise<Ssh2Module> => (await import("ssh2")).default)

const expandHome = (file: string) =>
  file === "~" ? os.homedir() : file.startsWith("~/") ? path.join(os.homedir(), file.slice(2)) : path.resolve(file)

const open = (client: Ssh2.Client, target: Target): Effect.Effect<Ssh2.ClientChannel, TunnelFailure> =>
  target._tag === "Tcp"
    ? Channel.forwardTcp(client, target.host, target.port)
    : target.method === "fd-forward"
      ? FdForward.open(client, target.socketPath)
      : Channel.forwardStreamLocal(client, target.socketPath)

const tunnelError = (failure: TunnelFailure) =>
  new TransportError({ reason: "Tunnel", message: `SSH tunnel failed: ${failure.message}`, cause: failure })

const service = (
  name: string,
  connection: Effect.Effect<Tunnel.Connection, TunnelFailure>
): SshConnection["Service"] => ({
  name,
  channel: (target) =>
    connection.pipe(
      Effect.flatMap(({ client, channels }) =>
        Effect.tap(open(client, target), (channel) => Effect.sync(() => channels.add(channel)))
      ),
      Effect.mapError(tunnelError)
    )
})

/**
 * Connects to the SSH server: resolves it, checks its host key, authenticates (the agent, then `privateKey`, then
 * `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`). Any failure there is a `ValueError` with python-fleet's message.
 * Later, a dropped connection fails the channels open on it, and the next channel connects again. Closing the scope
 * ends the connection.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<SshConnection["Service"], ValueError, Scope.Scope> =>
  Effect.gen(function* () {
    const address = yield* Address.parse(options.tunnel)
    const ssh2 = yield* loadSsh2
    const username = options.username ?? "core"
    const settings: Connect.Settings = {
      address,
      username,
      timeoutMs: Math.max(1, Duration.toMillis(options.timeout ?? Duration.seconds(10))),
      keepaliveMs: Connect.keepaliveMillis(options.keepaliveInterval),
      knownHostsFile: expandHome(options.knownHostsFile ?? "~/.fleetctl/known_hosts"),
      policy: options.strictHostKeyChecking ?? true,
      auth: yield* Auth.methods(ssh2.utils.parseKey, options, username)
    }
    const name = Address.display(address)
    const tunnel = yield* Tunnel.make(name, (opened) => Connect.connect(ssh2.Client, settings, opened))
    yield* Effect.mapError(tunnel.get, (failure) => new ValueError({ message: failure.message }))
    return service(name, tunnel.get)
  })

/**
 * The {@link SshConnection} service of {@link make}: connected when the layer is built, ended when it is released.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SshConnection } from "effect-fleet"
 *
 * const program = Effect.gen(function* () {
 *   const ssh = yield* SshConnection.SshConnection
 *   const channel = yield* ssh.channel({ _tag: "Unix", socketPath: "/var/run/fleet.sock" })
 *   channel.destroy()
 * }).pipe(Effect.provide(SshConnection.layer({ tunnel: "10.0.0.5", strictHostKeyChecking: "accept-new" })))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<SshConnection, ValueError> =>
  Layer.effect(SshConnection)(make(options))

const notConnected = (failure: TunnelFailure): TunnelFailure =>
  failure.cause instanceof Error && failure.cause.message === "Not connected"
    ? new TunnelFailure(
        'the ssh2 Client is not connected or its connection is closed (connect() it and wait for "ready")',
        { cause: failure }
      )
    : failure

/**
 * The {@link SshConnection} service over an ssh2 `Client` you connected and own (python-fleet's
 * `ssh_raw_transport`): your connection, your authentication and host key policy. Hand it over once it is ready
 * (it emitted "ready", or {@link connectClient} succeeded). Channels are opened on it; it is never closed here, and
 * if it drops, its open channels fail and nothing reconnects.
 *
 * While the service is in use it listens for the client's "error" (a reset connection, say) and fails the open
 * channels with it. That listener goes when the scope closes: a client that outlives the layer needs an "error"
 * listener of its own (`client.on("error", ...)`), or ssh2 throws the error as an uncaught exception.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromClient = (client: Ssh2.Client): Effect.Effect<SshConnection["Service"], never, Scope.Scope> =>
  Effect.gen(function* () {
    const connection: Tunnel.Connection = { client, channels: new Channel.ChannelSet() }
    const lost = () => connection.channels.failAll("The SSH connection was lost")
    // ssh2 throws an "error" nobody listens to (a reset connection: an uncaught `read ECONNRESET`); while the
    // service is in use, the error fails the channels open on the connection instead.
    const failed = (error: Error) => connection.channels.failAll(`The SSH connection failed: ${error.message}`)
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        // Without it each small request waits out Nagle's algorithm against the server's delayed ACK (~40 ms).
        client.setNoDelay(true)
        client.on("error", failed)
        client.on("end", lost)
        client.on("close", lost)
      }),
      () =>
        Effect.sync(() => {
          client.off("error", failed)
          client.off("end", lost)
          client.off("close", lost)
        })
    )
    const base = service("the caller's SSH connection", Effect.succeed(connection))
    return {
      name: base.name,
      channel: (target) =>
        Effect.mapError(base.channel(target), (error) =>
          isTunnelFailure(error.cause) ? tunnelError(notConnected(error.cause)) : error
        )
    }
  })

/**
 * {@link fromClient} as a layer.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerFromClient = (client: Ssh2.Client): Layer.Layer<SshConnection> =>
  Layer.effect(SshConnection)(fromClient(client))

/**
 * Connects an ssh2 `Client` you own with your `ConnectConfig` and waits for it to be ready, failing with a
 * `ValueError` if it errors or closes first. The client stays yours: nothing here ends it, and once it is ready
 * no listener of this function is left on it. Give it an "error" listener of your own if it outlives the layer
 * built on it (see {@link fromClient}).
 *
 * @example
 * ```ts
 * import * as fs from "node:fs"
 * import { Effect, Layer } from "effect"
 * import { Client } from "ssh2"
 * import { SshConnection } from "effect-fleet"
 *
 * const client = new Client()
 * const Ssh = Layer.unwrap(
 *   Effect.as(
 *     SshConnection.connectClient(client, { host: "10.0.0.5", username: "core", privateKey: fs.readFileSync("key") }),
 *     SshConnection.layerFromClient(client)
 *   )
 * )
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const connectClient = (client: Ssh2.Client, config: Ssh2.ConnectConfig): Effect.Effect<void, ValueError> =>
  Effect.callback<void, ValueError>((resume) => {
    const notes: Array<string> = []
    const fail = (reason: string) =>
      resume(Effect.fail(new ValueError({ message: `Unable to connect via ssh: ${reason}` })))
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
      if (Auth.isNote(error)) return void notes.push(error.message)
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
    try {
      client.connect(config)
    } catch (error) {
      stop()
      fail(error instanceof Error ? error.message : String(error))
    }
    return Effect.sync(stop)
  })
