/**
 * The SSH server's address as users write it: `host`, `host:port`, `[ipv6]:port` or a bare IPv6 address.
 */
import * as Effect from "effect/Effect"
import { ValueError } from "../../FleetError.ts"
import { redactUrl } from "../client/redact.ts"

/**
 * Where the SSH server listens.
 *
 * @since 0.2.0
 * @internal
 */
export interface Address {
  readonly host: string
  readonly port: number
}

/**
 * Splits `host[:port]`, accepting `[ipv6]:port` and a bare IPv6 address; port 22 when none is given.
 *
 * @since 0.2.0
 * @internal
 */
export const parse = (tunnel: string): Effect.Effect<Address, ValueError> =>
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
    if (!(number >= 1 && number <= 65535)) {
      return Effect.fail(new ValueError({ message: `${port} is not a valid TCP port` }))
    }
    return Effect.succeed({ host, port: number })
  })

/**
 * `host:port`, with an IPv6 host in brackets, as messages name the server.
 *
 * @since 0.2.0
 * @internal
 */
export const display = (address: Address): string =>
  address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`
