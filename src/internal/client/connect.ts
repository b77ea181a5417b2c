/**
 * From an endpoint to the transport under the client: the `Transport` (an undici dispatcher the pipeline sends on)
 * for TCP, HTTPS, a unix socket, an SSH tunnel or an SSH connection the caller owns, and fleetctl's variables merged
 * into layer options. undici's `Agent` is imported with `Fleet`; the SSH transports' modules (`FleetSsh`,
 * `SshConnection` and ssh2) only when a layer that needs them is built (see `lazy.ts` for why a failed import is a
 * defect).
 */
import type * as Undici from "@effect/platform-node/Undici"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Endpoint from "../../Endpoint.ts"
import type { TlsOptions } from "../../Endpoint.ts"
import type { LayerOptions } from "../../FleetOptions.ts"
import type { ValueError } from "../../FleetError.ts"
import * as internalConfig from "./config.ts"
import * as Lazy from "./lazy.ts"
import { sendOn } from "./dispatch.ts"
import type * as Send from "./send.ts"
import { agentOptions } from "./tls.ts"
import { Agent } from "./undiciAgent.ts"

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
  return Layer.effect(
    Transport,
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => new Agent(agentOptions(endpoint, options))),
        (agent) => Effect.promise(() => agent.destroy())
      ),
      onDispatcher
    )
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
