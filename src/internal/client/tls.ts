/**
 * The translations of the transports' options into node's and undici's, shared by the direct transports and the SSH
 * tunnel so that both read `TlsOptions` and `PoolOptions` (declared in `Endpoint.ts`) the same way.
 */
import * as net from "node:net"
import type * as tls from "node:tls"
import * as Duration from "effect/Duration"
import * as Redacted from "effect/Redacted"
import type { Endpoint, PoolOptions, TlsOptions } from "../../Endpoint.ts"

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
