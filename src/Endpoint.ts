/**
 * Where fleet's API is: an `http://` or `https://` URL, python-fleet's `http+unix://%2Fvar%2Frun%2Ffleet.sock` or
 * fleetctl's `unix:///var/run/fleet.sock`.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import { ValueError } from "./FleetError.ts"
import { hasCredentials, redactUrl } from "./internal/client/redact.ts"

/**
 * A fleet endpoint reached over TCP, plain or TLS. `baseUrl` is the URL every API path is appended to (no trailing
 * slash; it keeps a path prefix such as a proxy's `/fleet-proxy`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Tcp {
  readonly _tag: "Tcp"
  readonly input: string
  readonly secure: boolean
  readonly hostname: string
  readonly port: number
  readonly baseUrl: string
}

/**
 * A fleet endpoint on a unix socket. Requests go to host `localhost`, which fleet ignores.
 *
 * @since 0.1.0
 * @category models
 */
export interface Unix {
  readonly _tag: "Unix"
  readonly input: string
  readonly socketPath: string
  readonly baseUrl: string
}

/**
 * A parsed fleet endpoint (see {@link parse}): a {@link Tcp} one (`http://`, `https://`) or a {@link Unix} socket
 * (`unix://`, `http+unix://`), each with the `baseUrl` the client appends API paths to.
 *
 * @since 0.1.0
 * @category models
 */
export type Endpoint = Tcp | Unix

// Credentials are refused, but an error message is logged: never repeat them (see redactUrl for the rule).
const invalid = (input: string, why: string) =>
  new ValueError({ message: `Invalid fleet endpoint ${redactUrl(input)}: ${why}` })

const noCredentials = "credentials in the URL are not supported"

/**
 * Parses an endpoint string. A malformed endpoint, an unsupported scheme or credentials in the URL fail with a
 * `ValueError` that names the endpoint with everything between `//` and the last `@` shown as `***`, so that no
 * password reaches a message or a log, even one holding `/` or `@`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Endpoint } from "effect-fleet"
 *
 * const endpoint = Effect.runSync(Endpoint.parse("unix:///var/run/fleet.sock"))
 * // { _tag: "Unix", socketPath: "/var/run/fleet.sock", baseUrl: "http://localhost", ... }
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse = (input: string): Effect.Effect<Endpoint, ValueError> =>
  Effect.suspend(() => {
    const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(input)?.[1]?.toLowerCase()
    if (scheme === undefined) return Effect.fail(invalid(input, "expected a URL such as http://127.0.0.1:49153"))
    if (scheme === "unix") {
      // fleetctl's form: everything after `unix://` is the socket path.
      const socketPath = input.slice("unix://".length)
      if (!socketPath.startsWith("/")) return Effect.fail(invalid(input, "the socket path must be absolute"))
      return Effect.succeed<Endpoint>({ _tag: "Unix", input, socketPath, baseUrl: "http://localhost" })
    }
    if (scheme === "http+unix") {
      // python-fleet's form: the socket path is percent-encoded into the host, an optional path prefix follows.
      const rest = input.slice("http+unix://".length)
      const slash = rest.indexOf("/")
      const host = slash === -1 ? rest : rest.slice(0, slash)
      const prefix = slash === -1 ? "" : rest.slice(slash).replace(/\/+$/, "")
      let socketPath: string
      try {
        socketPath = decodeURIComponent(host)
      } catch {
        return Effect.fail(invalid(input, "the socket path is not validly percent-encoded"))
      }
      if (!socketPath.startsWith("/")) {
        return Effect.fail(invalid(input, "the socket path must be absolute and escaped (/ = %2F)"))
      }
      return Effect.succeed<Endpoint>({ _tag: "Unix", input, socketPath, baseUrl: `http://localhost${prefix}` })
    }
    if (scheme !== "http" && scheme !== "https") {
      return Effect.fail(invalid(input, `unsupported scheme "${scheme}" (use http, https, http+unix or unix)`))
    }
    let url: URL
    try {
      url = new URL(input)
    } catch {
      // A password holding "/" is what usually breaks the parse: say why, not just "invalid".
      return Effect.fail(invalid(input, hasCredentials(input) ? noCredentials : "not a valid URL"))
    }
    if (url.hostname === "") return Effect.fail(invalid(input, "missing host"))
    if (url.search !== "" || url.hash !== "") return Effect.fail(invalid(input, "a query or fragment is not allowed"))
    if (url.username !== "" || url.password !== "") {
      return Effect.fail(invalid(input, noCredentials))
    }
    const secure = scheme === "https"
    const port = url.port === "" ? (secure ? 443 : 80) : Number(url.port)
    const prefix = url.pathname.replace(/\/+$/, "")
    return Effect.succeed<Endpoint>({
      _tag: "Tcp",
      input,
      secure,
      hostname: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
      port,
      baseUrl: `${url.protocol}//${url.host}${prefix}`
    })
  })

/**
 * Connection pool settings shared by every transport (public also as `FleetTransport.PoolOptions`).
 *
 * @since 0.2.0
 * @category models
 */
export interface PoolOptions {
  /** Most connections open at once to the endpoint (default: unlimited, as undici). */
  readonly connections?: number | undefined
  /** How long an idle keep-alive connection stays open (default 4 seconds, as undici). */
  readonly keepAliveTimeout?: Duration.Input | undefined
}

/**
 * TLS settings for HTTPS endpoints (public also as `FleetTransport.TlsOptions`). The server's certificate is
 * verified by default.
 *
 * @since 0.2.0
 * @category models
 */
export interface TlsOptions {
  /** Certificate authorities trusted besides node's defaults (PEM). */
  readonly ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined
  /** A client certificate to present (PEM). */
  readonly cert?: string | Uint8Array | undefined
  /** The client certificate's key; a secret, so passed as `Redacted`. */
  readonly key?: Redacted.Redacted<string | Uint8Array> | undefined
  /** Skip server verification. Off by default; turn it on only for a test server you control. */
  readonly insecureSkipVerify?: boolean | undefined
  /** The name to verify the certificate against, when it differs from the endpoint's host. */
  readonly servername?: string | undefined
}
