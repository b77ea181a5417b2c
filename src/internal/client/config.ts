/**
 * fleetctl's environment variables as an Effect `Config`, and the files they name read into layer options.
 */
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as fs from "node:fs/promises"
import * as Endpoint from "../../Endpoint.ts"
import { ValueError } from "../../FleetError.ts"
import type { TlsOptions } from "../../Endpoint.ts"
import type { FleetctlConfig } from "../../FleetOptions.ts"

/**
 * fleetctl's default endpoint: fleetd's unix socket on the local machine.
 *
 * @since 0.2.0
 * @internal
 */
export const defaultEndpoint = "unix:///var/run/fleet.sock"

const optional = <A>(config: Config.Config<A>): Config.Config<A | undefined> =>
  Config.option(config).pipe(Config.map((option) => (option._tag === "Some" ? option.value : undefined)))

const EndpointString = Schema.String.check(
  Schema.makeFilter((input: string) => {
    const parsed = Effect.runSync(Effect.result(Endpoint.parse(input)))
    return Result.isSuccess(parsed) ? undefined : parsed.failure.message
  })
)

// fleetctl's timeouts are float seconds ("10", "1.5").
const Seconds = Schema.Finite.check(
  Schema.makeFilter((n: number) => (n > 0 ? undefined : "expected a number of seconds greater than 0"))
)
const seconds = (name: string): Config.Config<Duration.Duration | undefined> =>
  optional(Config.schema(Seconds, name).pipe(Config.map((s) => Duration.millis(s * 1000))))

const strictValues: Record<string, boolean | "accept-new"> = {
  true: true,
  yes: true,
  on: true,
  "1": true,
  false: false,
  no: false,
  off: false,
  "0": false,
  "accept-new": "accept-new"
}
const StrictHostKeyChecking = Schema.String.check(
  Schema.makeFilter((input: string) =>
    input.toLowerCase() in strictValues ? undefined : 'expected "true", "false" or "accept-new"'
  )
)

/**
 * Reads {@link FleetctlConfig} from the `FLEETCTL_*` variables, ignoring an empty or unparsable value as fleetctl does.
 *
 * @since 0.2.0
 * @internal
 */
export const fleetctlConfig: Config.Config<FleetctlConfig> = Config.all({
  endpoint: Config.schema(EndpointString, "FLEETCTL_ENDPOINT").pipe(Config.withDefault(defaultEndpoint)),
  tunnel: optional(Config.String("FLEETCTL_TUNNEL")),
  sshUsername: optional(Config.String("FLEETCTL_SSH_USERNAME")),
  sshTimeout: seconds("FLEETCTL_SSH_TIMEOUT"),
  knownHostsFile: optional(Config.String("FLEETCTL_KNOWN_HOSTS_FILE")),
  strictHostKeyChecking: optional(
    Config.schema(StrictHostKeyChecking, "FLEETCTL_STRICT_HOST_KEY_CHECKING").pipe(
      Config.map((input) => strictValues[input.toLowerCase()] ?? true)
    )
  ),
  caFile: optional(Config.String("FLEETCTL_CA_FILE")),
  certFile: optional(Config.String("FLEETCTL_CERT_FILE")),
  keyFile: optional(Config.String("FLEETCTL_KEY_FILE")),
  requestTimeout: seconds("FLEETCTL_REQUEST_TIMEOUT"),
  sshAuthSock: optional(Config.String("SSH_AUTH_SOCK"))
})

const readFile = (variable: string, path: string): Effect.Effect<string, ValueError> =>
  Effect.tryPromise({
    try: () => fs.readFile(path, "utf8"),
    catch: (cause) =>
      new ValueError({
        message: `Unable to read ${variable} ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`
      })
  })

/**
 * The TLS options the CA, certificate and key files give, read now so that a bad path fails the layer's build.
 *
 * @since 0.2.0
 * @internal
 */
export const readTls = (config: FleetctlConfig): Effect.Effect<TlsOptions, ValueError> =>
  Effect.gen(function* () {
    const ca = config.caFile === undefined ? undefined : yield* readFile("FLEETCTL_CA_FILE", config.caFile)
    const cert = config.certFile === undefined ? undefined : yield* readFile("FLEETCTL_CERT_FILE", config.certFile)
    const key = config.keyFile === undefined ? undefined : yield* readFile("FLEETCTL_KEY_FILE", config.keyFile)
    return {
      ...(ca !== undefined ? { ca } : {}),
      ...(cert !== undefined ? { cert } : {}),
      ...(key !== undefined ? { key: Redacted.make(key) } : {})
    }
  })
