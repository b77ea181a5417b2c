/**
 * Reaching fleet through SSH, as `fleetctl --tunnel` and python-fleet's `ssh_tunnel` do: Layers producing Effect's
 * `HttpClient` (or the undici `Dispatcher` under it) whose connections are channels of one {@link SshConnection}.
 * HTTP endpoints are reached with `direct-tcpip` channels from the tunnel host, unix-socket endpoints with OpenSSH's
 * `direct-streamlocal@openssh.com` channels (or fleetctl's `fleetctl fd-forward` exec); `https://` endpoints get TLS
 * end to end, inside the channel.
 *
 * The shape is `NodeHttpClient`'s: {@link layer} owns its SSH connection; {@link layerNoConnection} takes any
 * `SshConnection` from the context, such as `SshConnection.layerFromClient` over a connection you own.
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as Undici from "@effect/platform-node/Undici"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import type { HttpClient } from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import type * as net from "node:net"
import type { Duplex } from "node:stream"
import type * as Ssh2 from "ssh2"
import type { Endpoint } from "./Endpoint.ts"
import type { ValueError } from "./FleetError.ts"
import type { PoolOptions, TlsOptions } from "./FleetTransport.ts"
import * as Tls from "./internal/client/tls.ts"
import * as Channel from "./internal/ssh/channel.ts"
import * as TlsChannel from "./internal/ssh/tlsChannel.ts"
import { isTunnelFailure } from "./internal/ssh/tunnelFailure.ts"
import * as SshConnection from "./SshConnection.ts"

/**
 * How unix-socket endpoints are reached on the tunnel host; see `SshConnection.UnixSocketMethod`.
 *
 * @since 0.1.0
 * @category models
 */
export type UnixSocketMethod = SshConnection.UnixSocketMethod

/**
 * Options of {@link layerNoConnection}: where fleet listens as seen from the tunnel host, and how to talk to it.
 *
 * @since 0.2.0
 * @category models
 */
export interface EndpointOptions extends PoolOptions {
  /** The fleet endpoint as seen from the tunnel host, e.g. `unix:///var/run/fleet.sock`. */
  readonly endpoint: Endpoint
  /** How unix-socket endpoints are reached (default `"streamlocal"`). */
  readonly unixSocketMethod?: UnixSocketMethod | undefined
  /** TLS settings for an `https://` endpoint behind the tunnel (TLS runs end to end, inside the channel). */
  readonly tls?: TlsOptions | undefined
}

/**
 * Options of {@link layer}: the SSH connection's (see `SshConnection.Options`; only `tunnel` is required) and the
 * endpoint's.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends SshConnection.Options, EndpointOptions {}

/**
 * Options of {@link layerClient}.
 *
 * @deprecated Use {@link EndpointOptions}.
 * @since 0.1.0
 * @category models
 */
export type ClientOptions = EndpointOptions

const targetOf = (endpoint: Endpoint, method: UnixSocketMethod): SshConnection.Target =>
  endpoint._tag === "Tcp"
    ? { _tag: "Tcp", host: endpoint.hostname, port: endpoint.port }
    : { _tag: "Unix", socketPath: endpoint.socketPath, method }

/** A channel to the endpoint, TLS inside it for `https://`. */
const openSocket = (ssh: SshConnection.SshConnection["Service"], options: EndpointOptions) => {
  const { endpoint } = options
  const target = targetOf(endpoint, options.unixSocketMethod ?? "streamlocal")
  const channel = ssh.channel(target).pipe(
    // undici is handed the tunnel's own failure, which the client's error mapping recognises wherever it ends up.
    Effect.mapError((error): Error => (isTunnelFailure(error.cause) ? error.cause : error))
  )
  return endpoint._tag === "Tcp" && endpoint.secure
    ? Effect.flatMap(channel, (opened) => TlsChannel.secure(opened, endpoint.hostname, options.tls))
    : channel
}

/**
 * The undici `Dispatcher` over the `SshConnection` in the context, for use with
 * `NodeHttpClient.layerUndiciNoDispatcher` when you add your own HttpClient middleware.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerDispatcherNoConnection = (
  options: EndpointOptions
): Layer.Layer<NodeHttpClient.Dispatcher, never, SshConnection.SshConnection> =>
  Layer.effect(NodeHttpClient.Dispatcher)(
    Effect.gen(function* () {
      const ssh = yield* SshConnection.SshConnection
      // Channels still being opened when the layer closes are abandoned with it.
      const run = yield* FiberSet.makeRuntimePromise<never, Duplex, Error>()
      const open = openSocket(ssh, options)
      const connect: Undici.buildConnector.connector = (_options, callback) => {
        run(open).then(
          (socket) => {
            // A channel can fail between being opened and being handed over (a fd-forward that exited at once).
            const failure = Channel.failureOf(socket)
            // undici drives any Duplex; its connector type only names net and tls sockets.
            if (failure === undefined) callback(null, socket as unknown as net.Socket)
            else callback(failure, null)
          },
          (error: Error) => callback(error, null)
        )
      }
      // Made after the FiberSet, so released before it: undici closes its channels, then pending opens stop.
      return yield* NodeHttpClient.makeDispatcherOptions({ connect, ...Tls.poolSettings(options) })
    })
  )

/**
 * An `HttpClient` over the `SshConnection` in the context: provide `SshConnection.layer(...)`, or
 * `SshConnection.layerFromClient(client)` for a connection you own.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Endpoint, FleetSsh, SshConnection } from "effect-fleet"
 *
 * const HttpLive = Layer.unwrap(
 *   Effect.map(Endpoint.parse("unix:///var/run/fleet.sock"), (endpoint) =>
 *     FleetSsh.layerNoConnection({ endpoint }).pipe(Layer.provide(SshConnection.layer({ tunnel: "10.0.0.5" })))
 *   )
 * )
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerNoConnection = (
  options: EndpointOptions
): Layer.Layer<HttpClient, never, SshConnection.SshConnection> =>
  NodeHttpClient.layerUndiciNoDispatcher.pipe(Layer.provide(layerDispatcherNoConnection(options)))

/**
 * The undici `Dispatcher` of a tunnel, for use with `NodeHttpClient.layerUndiciNoDispatcher` when you want to
 * add your own HttpClient middleware. Connects when built; see {@link layer}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDispatcher = (options: Options): Layer.Layer<NodeHttpClient.Dispatcher, ValueError> =>
  layerDispatcherNoConnection(options).pipe(Layer.provide(SshConnection.layer(options)))

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
export const layer = (options: Options): Layer.Layer<HttpClient, ValueError> =>
  layerNoConnection(options).pipe(Layer.provide(SshConnection.layer(options)))

/**
 * An `HttpClient` over an ssh2 `Client` you connected yourself and that is ready (it emitted "ready", or
 * `SshConnection.connectClient` succeeded): `layerNoConnection` over `SshConnection.layerFromClient(client)`.
 *
 * @deprecated Use `FleetSsh.layerNoConnection(options)` with `SshConnection.layerFromClient(client)`.
 * @since 0.1.0
 * @category layers
 */
export const layerClient = (client: Ssh2.Client, options: EndpointOptions): Layer.Layer<HttpClient, ValueError> =>
  layerNoConnection(options).pipe(Layer.provide(SshConnection.layerFromClient(client)))
