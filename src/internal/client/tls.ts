/**
 * The translations of the transports' options into node's and undici's, shared by the direct transports and the SSH
 * tunnel so that both read `TlsOptions` and `PoolOptions` the same way.
 */
import * as net from "node:net"
import type * as tls from "node:tls"
import * as Duration from "effect/Duration"
import * as Redacted from "effect/Redacted"
import type { Endpoint } from "../../Endpoint.ts"

/**
 * Connection pool settings shared by every transport (public as `FleetTransport.PoolOptions`).
 *
 * @since 0.2.0
 * @internal
 */
export interface PoolOptions {
  /** Most connections open at once to the endpoint (default: unlimited, as undici). */
  readonly connections?: number | undefined
  /** How long an idle keep-alive connection stays open (default 4 seconds, as undici). */
  readonly keepAliveTimeout?: Duration.Input | undefined
}

/**
 * TLS settings for HTTPS endpoints. The server's certificate is verified by default; `ca` adds trusted
 * certificate authorities, `cert` and `key` present a client certificate. The key is a secret: pass it as `Redacted`.
 * Public as `FleetTransport.TlsOptions`.
 *
 * @since 0.2.0
 * @internal
 */
export interface TlsOptions {
  readonly ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined
  readonly cert?: string | Uint8Array | undefined
  readonly key?: Redacted.Redacted<string | Uint8Array> | undefined
  /** Skip server verification. Off by default; turn it on only for a test server you control. */
  readonly insecureSkipVerify?: boolean | undefined
  /** The name to verify the certificate against, when it differs from the endpoint's host. */
  readonly servername?: string | undefined
}

const toBuffer = (value: string | Uint8Array): string | Buffer =>
  typeof value === "string" ? value : Buffer.from(value)

/**
 * Node's TLS options for `options`. With `host`, the connection is one this library opens itself: the certificate
 * is verified against `host` and, unless it is an IP address (which SNI cannot carry, and node warns about it:
 * DEP0123), `host` is also sent as the server name. Without it, the caller (undici) fills both in.
 *
 * @since 0.2.0
 * @internal
 */
export const connectionOptions = (options: TlsOptions | undefined, host?: string): tls.ConnectionOptions => {
  const ca = options?.ca
  const servername = options?.servername ?? (host === undefined || net.isIP(host) !== 0 ? undefined : host)
  return {
    rejectUnauthorized: options?.insecureSkipVerify !== true,
    ...(ca === undefined
      ? {}
      : { ca: typeof ca === "string" || ca instanceof Uint8Array ? toBuffer(ca) : ca.map(toBuffer) }),
    ...(options?.cert !== undefined ? { cert: toBuffer(options.cert) } : {}),
    ...(options?.key !== undefined ? { key: toBuffer(Redacted.value(options.key)) } : {}),
    ...(host !== undefined ? { host } : {}),
    ...(servername !== undefined ? { servername } : {})
  }
}

/**
 * undici's pool settings. Its timers take milliseconds, at least 1 (it refuses 0) and at most what setTimeout
 * holds (past 2^31 - 1 it would fire at once).
 *
 * @since 0.2.0
 * @internal
 */
export const poolSettings = (pool: PoolOptions | undefined) => ({
  ...(pool?.connections !== undefined ? { connections: pool.connections } : {}),
  ...(pool?.keepAliveTimeout !== undefined
    ? { keepAliveTimeout: Math.min(2 ** 31 - 1, Math.max(1, Duration.toMillis(pool.keepAliveTimeout))) }
    : {})
})

/**
 * undici's Agent options for an endpoint: the pool, and how to connect (a unix socket, TLS, or plain TCP).
 *
 * @since 0.2.0
 * @internal
 */
export const agentOptions = (endpoint: Endpoint, options: TlsOptions & PoolOptions = {}) => {
  const connect: object =
    endpoint._tag === "Unix" ? { socketPath: endpoint.socketPath } : endpoint.secure ? connectionOptions(options) : {}
  return { ...poolSettings(options), connect }
}
