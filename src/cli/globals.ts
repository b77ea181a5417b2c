/**
 * fleetctl's global options, read as fleetctl reads them: a flag wins, then its `FLEETCTL_*` variable (an empty or
 * unparsable value is ignored, as pflag's `Set` error is), then fleetctl's default. The client is built from them
 * the way fleetctl's `getHTTPClient` builds its own, with its error messages.
 *
 * @internal
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Flag from "effect/cli/Flag"
import * as fs from "node:fs"
import * as os from "node:os"
import * as Fleet from "../Fleet.ts"
import type { ValueError } from "../FleetError.ts"
import { CliIO } from "./io.ts"
import { errorText } from "./fleetctl.ts"

export const defaultEndpoint = "unix:///var/run/fleet.sock"

const described = <A>(flag: Flag.Flag<A>, text: string) => Flag.optional(Flag.withDescription(flag, text))

/** The root command's shared flags: every fleetctl global option. */
export const flags = {
  endpoint: described(
    Flag.String("endpoint"),
    `Location of the fleet API (FLEETCTL_ENDPOINT; default ${defaultEndpoint})`
  ),
  driver: described(
    Flag.String("driver"),
    'Adapter used to execute commands: only "API" (FLEETCTL_DRIVER); "etcd" is refused, the API is the only driver'
  ),
  tunnel: described(
    Flag.String("tunnel"),
    "Establish an SSH tunnel through the provided address for communication with fleet (FLEETCTL_TUNNEL)"
  ),
  knownHostsFile: described(
    Flag.String("known-hosts-file"),
    "File used to store remote machine fingerprints. Ignored if strict host key checking is disabled" +
      " (FLEETCTL_KNOWN_HOSTS_FILE; default ~/.fleetctl/known_hosts)"
  ),
  strictHostKeyChecking: described(
    Flag.Boolean("strict-host-key-checking"),
    "Verify host keys presented by remote machines before initiating SSH connections" +
      " (FLEETCTL_STRICT_HOST_KEY_CHECKING; default true; --strict-host-key-checking=false turns it off)"
  ),
  sshUsername: described(
    Flag.String("ssh-username"),
    "Username to use when connecting to CoreOS instance (FLEETCTL_SSH_USERNAME; default core)"
  ),
  sshTimeout: described(
    Flag.Finite("ssh-timeout"),
    "Amount of time in seconds to allow for SSH connection initialization before failing" +
      " (FLEETCTL_SSH_TIMEOUT; default 10)"
  ),
  requestTimeout: described(
    Flag.Finite("request-timeout"),
    "Amount of time in seconds to allow a single request before considering it failed" +
      " (FLEETCTL_REQUEST_TIMEOUT; default 3)"
  ),
  caFile: described(
    Flag.String("ca-file"),
    "Location of TLS CA file used to secure communication with the fleet API (FLEETCTL_CA_FILE)"
  ),
  certFile: described(
    Flag.String("cert-file"),
    "Location of TLS cert file used to secure communication with the fleet API (FLEETCTL_CERT_FILE)"
  ),
  keyFile: described(
    Flag.String("key-file"),
    "Location of TLS key file used to secure communication with the fleet API (FLEETCTL_KEY_FILE)"
  ),
  debug: described(Flag.Boolean("debug"), "Print out more debug information to stderr (FLEETCTL_DEBUG)")
}

/** The global flags as parsed, before the environment and defaults fill in those not given: one per `Globals` field. */
export type RawGlobals = { readonly [K in keyof Globals]: Option.Option<Globals[K]> }

export interface Globals {
  readonly endpoint: string
  readonly driver: string
  readonly tunnel: string
  readonly knownHostsFile: string
  readonly strictHostKeyChecking: boolean
  readonly sshUsername: string
  /** Seconds. */
  readonly sshTimeout: number
  /** Seconds. */
  readonly requestTimeout: number
  readonly caFile: string
  readonly certFile: string
  readonly keyFile: string
  readonly debug: boolean
}

// Go's strconv.ParseBool and ParseFloat, which pflag uses to set a flag from its variable.
const parseBool = (text: string): boolean | undefined =>
  ["1", "t", "T", "TRUE", "true", "True"].includes(text)
    ? true
    : ["0", "f", "F", "FALSE", "false", "False"].includes(text)
      ? false
      : undefined
const parseSeconds = (text: string): number | undefined => {
  const trimmed = text.trim()
  if (trimmed !== text || trimmed === "") return undefined
  const n = Number(text)
  return Number.isNaN(n) ? undefined : n
}

export const resolve = (raw: RawGlobals, env: NodeJS.ProcessEnv = process.env): Globals => {
  const fromEnv = <A>(flag: Option.Option<A>, name: string, parse: (s: string) => A | undefined, fallback: A): A => {
    if (Option.isSome(flag)) return flag.value
    const value = env[`FLEETCTL_${name}`]
    if (value === undefined || value === "") return fallback
    return parse(value) ?? fallback
  }
  const str = (s: string) => s
  return {
    endpoint: fromEnv(raw.endpoint, "ENDPOINT", str, defaultEndpoint),
    driver: fromEnv(raw.driver, "DRIVER", str, "API"),
    tunnel: fromEnv(raw.tunnel, "TUNNEL", str, ""),
    knownHostsFile: fromEnv(raw.knownHostsFile, "KNOWN_HOSTS_FILE", str, "~/.fleetctl/known_hosts"),
    strictHostKeyChecking: fromEnv(raw.strictHostKeyChecking, "STRICT_HOST_KEY_CHECKING", parseBool, true),
    sshUsername: fromEnv(raw.sshUsername, "SSH_USERNAME", str, "core"),
    sshTimeout: fromEnv(raw.sshTimeout, "SSH_TIMEOUT", parseSeconds, 10),
    requestTimeout: fromEnv(raw.requestTimeout, "REQUEST_TIMEOUT", parseSeconds, 3),
    caFile: fromEnv(raw.caFile, "CA_FILE", str, ""),
    certFile: fromEnv(raw.certFile, "CERT_FILE", str, ""),
    keyFile: fromEnv(raw.keyFile, "KEY_FILE", str, ""),
    debug: fromEnv(raw.debug, "DEBUG", parseBool, false)
  }
}

/** Why the client could not be built, in fleetctl's words (printed after `Unable to initialize client: `). */
export class ClientInitError extends Data.TaggedError("ClientInitError")<{ readonly message: string }> {}

const expandHome = (file: string): string => (file.startsWith("~/") ? os.homedir() + file.slice(1) : file)

const readFileText = (file: string): Effect.Effect<string, ClientInitError> =>
  Effect.try({
    try: () => fs.readFileSync(file, "utf8"),
    catch: (cause) =>
      new ClientInitError({
        message: `open ${file}: ${(cause as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : String((cause as Error).message)}`
      })
  })

/** The endpoint as fleetctl reports it in its errors: unix sockets are `http://domain-sock`. */
export const displayBase = (globals: Globals): string => {
  const first = globals.endpoint.split(",")[0] ?? ""
  if (/^(unix|file):/i.test(first)) return "http://domain-sock"
  return first.replace(/\/+$/, "")
}

/**
 * Checks the endpoint as fleetctl's `getHTTPClient` does and returns the library's endpoint string, or the message
 * fleetctl prints.
 */
export const checkEndpoint = (globals: Globals): Effect.Effect<string, ClientInitError> =>
  Effect.suspend(() => {
    const first = globals.endpoint.split(",")[0] ?? ""
    const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(first)?.[1]
    if (scheme === undefined) return Effect.fail(new ClientInitError({ message: "URL scheme undefined" }))
    if (scheme === "unix" || scheme === "file") {
      const rest = first.slice(scheme.length + 1)
      const host = rest.startsWith("//") ? (/^\/\/([^/]*)/.exec(rest)?.[1] ?? "") : ""
      if (host !== "") {
        return Effect.fail(
          new ClientInitError({ message: `unable to connect to host "${host}" with scheme "${scheme}"` })
        )
      }
      const path = rest.startsWith("//") ? rest.slice(2) : rest
      return Effect.succeed(`unix://${path}`)
    }
    return Effect.succeed(first)
  })

/** The fleet client the global options describe. fleetctl never probes and never retries; neither does this. */
export const fleetLayer = (globals: Globals): Layer.Layer<Fleet.Fleet, ClientInitError, CliIO> =>
  Layer.unwrap(
    Effect.gen(function* () {
      if (globals.driver === "etcd") {
        return yield* new ClientInitError({
          message:
            "the etcd driver is not supported: effect-fleet speaks only the fleet API (--driver API with --endpoint " +
            "unix:///var/run/fleet.sock or http://host:port)"
        })
      }
      if (globals.driver !== "API")
        return yield* new ClientInitError({ message: `unrecognized driver "${globals.driver}"` })
      const endpoints = globals.endpoint.split(",")
      if (endpoints.length > 1) {
        const io = yield* CliIO
        io.stderr(`WARNING: multiple endpoints provided but only the first (${endpoints[0]}) is used\n`)
      }
      const endpoint = yield* checkEndpoint(globals)
      const ca = globals.caFile === "" ? undefined : yield* readFileText(globals.caFile)
      const cert = globals.certFile === "" ? undefined : yield* readFileText(globals.certFile)
      const key = globals.keyFile === "" ? undefined : yield* readFileText(globals.keyFile)
      const tunnel =
        globals.tunnel === "" ? undefined : globals.tunnel.includes(":") ? globals.tunnel : `${globals.tunnel}:22`
      const options: Fleet.LayerOptions = {
        probe: false,
        timeout: `${Math.round(globals.requestTimeout * 1000)} millis`,
        ...(ca !== undefined ? { ca } : {}),
        ...(cert !== undefined ? { cert } : {}),
        ...(key !== undefined ? { key: Redacted.make(key) } : {}),
        ...(tunnel !== undefined
          ? {
              sshTunnel: tunnel,
              ssh: {
                username: globals.sshUsername,
                timeout: `${Math.round(globals.sshTimeout * 1000)} millis`,
                knownHostsFile: expandHome(globals.knownHostsFile),
                strictHostKeyChecking: globals.strictHostKeyChecking
              }
            }
          : {})
      }
      return Fleet.layer(endpoint, options).pipe(
        Layer.catchTag("ValueError", (error: ValueError) =>
          Layer.effect(
            Fleet.Fleet,
            Effect.fail(
              new ClientInitError({
                message: tunnel !== undefined ? `failed initializing SSH client: ${error.message}` : error.message
              })
            )
          )
        )
      )
    })
  )

export { errorText }
