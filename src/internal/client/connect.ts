/**
 * From an endpoint to the transport under the client: the `Transport` (an undici dispatcher the pipeline sends on)
 * for TCP, HTTPS, a unix socket, an SSH tunnel or an SSH connection the caller owns, and fleetctl's variables merged
 * into layer options. The transports' modules (undici, `FleetSsh`, `SshConnection` and ssh2) are imported when a
 * layer is built, so that importing `Fleet` loads none of them; see `lazy.ts` for why a failed import is a defect.
 */
import type * as Undici from "@effect/platform-node/Undici"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Ssh2 from "ssh2"
import type * as Endpoint from "../../Endpoint.ts"
import type { ValueError } from "../../FleetError.ts"
import type * as FleetSsh from "../../FleetSsh.ts"
import * as internalConfig from "./config.ts"
import * as Lazy from "./lazy.ts"
import { sendOn } from "./dispatch.ts"
import type * as Send from "./send.ts"
import { agentOptions, type PoolOptions, type TlsOptions } from "./tls.ts"
import type * as Schedule from "effect/Schedule"
import type * as Duration from "effect/Duration"
import type { FleetError } from "../../FleetError.ts"

/**
 * Options of the client itself, whatever the transport.
 *
 * @since 0.2.0
 * @internal
 */
export interface ClientOptions {
  /** Bound on each request, from sending to the last byte of the response (default 60 seconds). */
  readonly timeout?: Duration.Input | undefined
  /**
   * A Schedule applied to transient failures (see `FleetError.isTransient`) of every request: refused, reset or timed
   * out connections, tunnel failures and 5xx answers (fleet's 503 while it cannot reach etcd above all). Default:
   * none, no automatic retries, like fleetctl, which never retries. `Fleet.retrySchedule` is a ready one
   * (exponential backoff with jitter, at most 8 retries). Every fleet request is idempotent, except that a DELETE
   * whose answer was lost answers 404 on its retry: `destroyUnit` takes a 404 as success only after an attempt that
   * may have reached fleet (reset, timed out, 502/504), never on the first try or after a refused connection or a 503.
   */
  readonly retry?: Schedule.Schedule<unknown, FleetError> | undefined
  /** Check at layer build that the endpoint is a fleet v1 API (GET /fleet/v1/discovery). Default true. */
  readonly probe?: boolean | undefined
  /**
   * The largest response body accepted, in bytes (default 32 MiB, far above fleet's largest page). Enforced while
   * reading: a body that declares or reaches more is not buffered; the request is aborted and fails with
   * `TransportError` reason `MalformedResponse`.
   */
  readonly maxResponseBytes?: number | undefined
}

/**
 * The SSH options of `Fleet.layer`: everything of `FleetSsh.Options` but the tunnel host and the endpoint.
 *
 * @since 0.2.0
 * @internal
 */
export type SshOptions = Omit<FleetSsh.Options, "tunnel" | "endpoint" | "tls" | "connections" | "keepAliveTimeout">

/**
 * Options of `Fleet.layer`: the client's, the connection pool's and, for `https://`, TLS settings.
 *
 * @since 0.2.0
 * @internal
 */
export interface LayerOptions extends ClientOptions, TlsOptions, PoolOptions {
  /**
   * Reach the endpoint through an SSH tunnel to `host`, `host:port` or `[ipv6]:port` (python-fleet's `ssh_tunnel`,
   * fleetctl's `--tunnel`): the endpoint is then as seen from the tunnel host, e.g. `unix:///var/run/fleet.sock`.
   */
  readonly sshTunnel?: string | undefined
  /** Options of the tunnel: username, timeout, known_hosts policy, keys; see `FleetSsh.Options`. */
  readonly ssh?: SshOptions | undefined
  /**
   * An SSH connection you configured, connected and own (python-fleet's `ssh_raw_transport`): requests go through
   * channels opened on it, `sshTunnel` and `ssh` are ignored, and the connection is never closed by this library.
   */
  readonly sshClient?: Ssh2.Client | undefined
}

const tlsOf = (options: TlsOptions): TlsOptions => ({
  ...(options.ca !== undefined ? { ca: options.ca } : {}),
  ...(options.cert !== undefined ? { cert: options.cert } : {}),
  ...(options.key !== undefined ? { key: options.key } : {}),
  ...(options.insecureSkipVerify !== undefined ? { insecureSkipVerify: options.insecureSkipVerify } : {}),
  ...(options.servername !== undefined ? { servername: options.servername } : {})
})

/**
 * How the client of `Fleet.layer` sends: given `maxResponseBytes`, the `Send` of its transport, which is always an
 * undici dispatcher (TCP, HTTPS, a unix socket, an SSH tunnel or an SSH connection the caller owns), never an
 * `HttpClient`.
 *
 * @since 0.2.0
 * @internal
 */
export class Transport extends Context.Service<Transport, { readonly send: (maxResponseBytes: number) => Send.Send }>()(
  "effect-fleet/internal/client/Transport"
) {}

const onDispatcher = (dispatcher: Undici.Dispatcher) =>
  Transport.of({ send: (maxResponseBytes) => sendOn(dispatcher, maxResponseBytes) })

/**
 * The transport an endpoint needs, its module imported only when the layer is built.
 *
 * @since 0.2.0
 * @internal
 */
export const transport = (endpoint: Endpoint.Endpoint, options: LayerOptions): Layer.Layer<Transport, ValueError> => {
  const pool = {
    ...(options.connections !== undefined ? { connections: options.connections } : {}),
    ...(options.keepAliveTimeout !== undefined ? { keepAliveTimeout: options.keepAliveTimeout } : {})
  }
  const sshClient = options.sshClient
  if (sshClient !== undefined) {
    return Layer.effect(
      Transport,
      Effect.gen(function* () {
        const [FleetSsh, SshConnection, NodeHttpClient] = yield* Effect.all([
          Lazy.fleetSsh,
          Lazy.sshConnection,
          Lazy.nodeHttpClient
        ])
        // The same dispatcher as a tunnel's, over the caller's connection (which its layer never closes).
        const layer = FleetSsh.layerDispatcherNoConnection({
          ...pool,
          endpoint,
          tls: tlsOf(options),
          ...(options.ssh?.unixSocketMethod !== undefined ? { unixSocketMethod: options.ssh.unixSocketMethod } : {})
        }).pipe(Layer.provide(SshConnection.layerFromClient(sshClient)))
        return onDispatcher(Context.get(yield* Layer.build(layer), NodeHttpClient.Dispatcher))
      })
    )
  }
  const tunnel = options.sshTunnel
  if (tunnel !== undefined) {
    return Layer.effect(
      Transport,
      Effect.gen(function* () {
        const FleetSsh = yield* Lazy.fleetSsh
        const NodeHttpClient = yield* Lazy.nodeHttpClient
        const layer = FleetSsh.layerDispatcher({ ...options.ssh, ...pool, tunnel, endpoint, tls: tlsOf(options) })
        return onDispatcher(Context.get(yield* Layer.build(layer), NodeHttpClient.Dispatcher))
      })
    )
  }
  // undici's Agent alone: platform-node's HTTP client module (and undici's index) would cost as much again to load
  return Layer.effect(
    Transport,
    Effect.gen(function* () {
      const Agent = yield* Lazy.undiciAgent
      const agent = yield* Effect.acquireRelease(
        Effect.sync(() => new Agent(agentOptions(endpoint, options))),
        (agent) => Effect.promise(() => agent.destroy())
      )
      return onDispatcher(agent)
    })
  )
}

/**
 * The endpoint and layer options fleetctl's variables give, over `options`: the variables win over the defaults
 * `options` gives (`timeout`), `options` gives what no variable sets, and an explicit `ssh.agent` beats
 * `SSH_AUTH_SOCK`. The TLS files are read now, so that a bad path fails the layer's build.
 *
 * @since 0.2.0
 * @internal
 */
export const fromFleetctlConfig = (
  options: LayerOptions
): Effect.Effect<{ readonly endpoint: string; readonly options: LayerOptions }, ValueError | Config.ConfigError> =>
  Effect.gen(function* () {
    const config = yield* internalConfig.fleetctlConfig
    const tls = yield* internalConfig.readTls(config)
    const clientOptions: LayerOptions = {
      ...options,
      ...tls,
      ...(config.requestTimeout !== undefined ? { timeout: config.requestTimeout } : {})
    }
    if (config.tunnel === undefined) return { endpoint: config.endpoint, options: clientOptions }
    return {
      endpoint: config.endpoint,
      options: {
        ...clientOptions,
        sshTunnel: config.tunnel,
        ssh: {
          ...options.ssh,
          ...(config.sshUsername !== undefined ? { username: config.sshUsername } : {}),
          ...(config.sshTimeout !== undefined ? { timeout: config.sshTimeout } : {}),
          ...(config.knownHostsFile !== undefined ? { knownHostsFile: config.knownHostsFile } : {}),
          ...(config.strictHostKeyChecking !== undefined
            ? { strictHostKeyChecking: config.strictHostKeyChecking }
            : {}),
          // SSH_AUTH_SOCK is the environment's default, not a fleetctl flag: an explicit `ssh.agent` wins
          ...(config.sshAuthSock !== undefined && options.ssh?.agent === undefined ? { agent: config.sshAuthSock } : {})
        }
      }
    }
  })
