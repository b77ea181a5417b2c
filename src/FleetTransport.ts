/**
 * The transports under the fleet client: Layers producing Effect's `HttpClient` for plain TCP, HTTPS (with TLS
 * verification on by default) and unix sockets, each with a pooled, keep-alive connection pool that is closed
 * when the layer's scope closes. `Fleet.layerHttpClient` builds the client over whatever `HttpClient` it is given,
 * so these can be composed with your own middleware or replaced by your own client. (`Fleet.layer` takes the same
 * settings but sends on undici's connection pool directly, without an `HttpClient` in between.)
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as Layer from "effect/Layer"
import type { HttpClient } from "effect/http"
import type * as Endpoint_ from "./Endpoint.ts"
import type { Endpoint } from "./Endpoint.ts"
import * as Tls from "./internal/client/tls.ts"

/**
 * Connection pool settings shared by every transport: `connections` (most connections open at once to the
 * endpoint; default unlimited, as undici) and `keepAliveTimeout` (how long an idle keep-alive connection stays open;
 * default 4 seconds, as undici).
 *
 * @since 0.1.0
 * @category models
 */
export type PoolOptions = Endpoint_.PoolOptions

/**
 * TLS settings for HTTPS endpoints. The server's certificate is verified by default; `ca` adds trusted
 * certificate authorities, `cert` and `key` present a client certificate (the key is a secret: pass it as
 * `Redacted`), `insecureSkipVerify` skips server verification (only for a test server you control), and
 * `servername` is the name to verify the certificate against when it differs from the endpoint's host.
 *
 * @since 0.1.0
 * @category models
 */
export type TlsOptions = Endpoint_.TlsOptions

const agentOptions = (pool: PoolOptions | undefined, connect: object = {}) => ({
  ...Tls.poolSettings(pool),
  connect
})

/**
 * An `HttpClient` over plain TCP.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTcp = (options?: PoolOptions): Layer.Layer<HttpClient.HttpClient> =>
  NodeHttpClient.layerUndiciOptions(agentOptions(options))

/**
 * An `HttpClient` over TLS, verifying the server's certificate unless told otherwise.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { FleetTransport } from "effect-fleet"
 *
 * const https = FleetTransport.layerHttps({
 *   ca: "-----BEGIN CERTIFICATE-----...",
 *   cert: "-----BEGIN CERTIFICATE-----...",
 *   key: Redacted.make("-----BEGIN PRIVATE KEY-----...")
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHttps = (options: TlsOptions & PoolOptions = {}): Layer.Layer<HttpClient.HttpClient> =>
  NodeHttpClient.layerUndiciOptions(agentOptions(options, Tls.connectionOptions(options)))

/**
 * An `HttpClient` whose connections go to a unix socket, whatever host the request URL names.
 *
 * @example
 * ```ts
 * import { FleetTransport } from "effect-fleet"
 *
 * const unix = FleetTransport.layerUnix("/var/run/fleet.sock")
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerUnix = (socketPath: string, options?: PoolOptions): Layer.Layer<HttpClient.HttpClient> =>
  NodeHttpClient.layerUndiciOptions(agentOptions(options, { socketPath }))

/**
 * The transport an endpoint needs: TCP for `http://`, TLS for `https://`, a unix socket for `unix://` and
 * `http+unix://`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (endpoint: Endpoint, options: TlsOptions & PoolOptions = {}): Layer.Layer<HttpClient.HttpClient> =>
  NodeHttpClient.layerUndiciOptions(Tls.agentOptions(endpoint, options))
