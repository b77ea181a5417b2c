/**
 * The types of the fleet client's public signatures: the service shape, its pages and filters, and the options of
 * its layers, retry schedules and fleetctl configuration. Types only, so that the client's internal modules can be
 * written against them without importing `Fleet`, which wires those modules together. `Fleet` re-exports each
 * under the same name (`Fleet.FleetService`, `Fleet.LayerOptions`, ...).
 *
 * @since 0.2.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import type * as Stream from "effect/Stream"
import type * as Ssh2 from "ssh2"
import type { PoolOptions, TlsOptions } from "./Endpoint.ts"
import type { APIError, FleetError, TransportError } from "./FleetError.ts"
import type * as FleetSsh from "./FleetSsh.ts"
import type { Machine, MetadataOp } from "./Machine.ts"
import type { DesiredState, FleetUnit, Unit } from "./Unit.ts"
import type { UnitState } from "./UnitState.ts"

/**
 * One page of a listing, for callers who page by hand: the items and the token of the next page, if any.
 *
 * @since 0.2.0
 * @category models
 */
export interface Page<A> {
  /** The items of this page, in fleet's order. */
  readonly items: ReadonlyArray<A>
  /** The token that fetches the next page; `undefined` on the last page. */
  readonly nextPageToken: string | undefined
}

/**
 * Filters for `listUnitStates`; each is sent only when given.
 *
 * @since 0.2.0
 * @category models
 */
export interface UnitStateFilter {
  /** Only the states of units on this machine (its full ID). */
  readonly machineId?: string | undefined
  /** Only the states of this unit. */
  readonly unitName?: string | undefined
}

/**
 * The fleet client's operations.
 *
 * @since 0.2.0
 * @category models
 */
export interface FleetService {
  /** The base URL every API path is appended to. */
  readonly baseUrl: string
  /** PUT the unit's `desiredState` and `options` under `name`, then GET and return the created unit. */
  readonly createUnit: (name: string, unit: Unit) => Effect.Effect<FleetUnit, FleetError>
  /**
   * Ask fleet to move a unit to `inactive`, `loaded` or `launched`. Typed as a `DesiredState`; a plain string is
   * still accepted and any other state is refused with `ValueError` before anything is sent. Returns the unit as
   * fleet reports it afterwards.
   */
  readonly setUnitDesiredState: (
    unit: Unit | string,
    state: DesiredState | (string & {})
  ) => Effect.Effect<FleetUnit, FleetError>
  /** DELETE a unit. */
  readonly destroyUnit: (unit: Unit | string) => Effect.Effect<void, FleetError>
  /** GET one unit by name. */
  readonly getUnit: (name: string) => Effect.Effect<FleetUnit, FleetError>
  /** Every unit, sorted by name, fetched one page at a time as the stream is consumed. */
  readonly listUnits: () => Stream.Stream<FleetUnit, APIError | TransportError>
  /** One page of units. */
  readonly listUnitsPage: (pageToken?: string) => Effect.Effect<Page<FleetUnit>, APIError | TransportError>
  /** Every unit state (optionally of one machine and/or one unit), fetched one page at a time. */
  readonly listUnitStates: (filter?: UnitStateFilter) => Stream.Stream<UnitState, APIError | TransportError>
  /** One page of unit states. */
  readonly listUnitStatesPage: (
    filter?: UnitStateFilter & { readonly pageToken?: string | undefined }
  ) => Effect.Effect<Page<UnitState>, APIError | TransportError>
  /** Every machine of the cluster, fetched one page at a time. */
  readonly listMachines: () => Stream.Stream<Machine, APIError | TransportError>
  /** One page of machines. */
  readonly listMachinesPage: (pageToken?: string) => Effect.Effect<Page<Machine>, APIError | TransportError>
  /**
   * Edit machine metadata (`PATCH /fleet/v1/machines`): every op is checked against fleet's rules first (a bad one is
   * a `ValueError` and nothing is sent), then all are sent in one request, which fleet applies in order.
   */
  readonly patchMachineMetadata: (ops: ReadonlyArray<MetadataOp>) => Effect.Effect<void, FleetError>
}

/**
 * Options of the client itself, whatever the transport.
 *
 * @since 0.2.0
 * @category models
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
 * @category models
 */
export type SshOptions = Omit<FleetSsh.Options, "tunnel" | "endpoint" | "tls" | "connections" | "keepAliveTimeout">

/**
 * Options of `Fleet.layer`: the client's, the connection pool's and, for `https://`, TLS settings.
 *
 * @since 0.2.0
 * @category models
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

/**
 * Options of `Fleet.makeRetrySchedule`: the backoff's base and cap, and how many retries at most.
 *
 * @since 0.2.0
 * @category models
 */
export interface RetryScheduleOptions {
  /** The first delay (default 100 ms); each further delay is `factor` times the previous one. */
  readonly base?: Duration.Input | undefined
  /** Growth of the delay between attempts (default 2). */
  readonly factor?: number | undefined
  /** The longest delay between two attempts, before jitter (default 5 seconds). */
  readonly maxDelay?: Duration.Input | undefined
  /** The most retries after the first attempt (default 8); `Infinity` retries for as long as failures are transient. */
  readonly times?: number | undefined
}

/**
 * fleetctl's settings as its `FLEETCTL_*` variables (and `SSH_AUTH_SOCK`) give them; durations are fleetctl's
 * seconds converted.
 *
 * @since 0.2.0
 * @category models
 */
export interface FleetctlConfig {
  /** `FLEETCTL_ENDPOINT` (default `unix:///var/run/fleet.sock`). */
  readonly endpoint: string
  /** `FLEETCTL_TUNNEL`: the SSH host to tunnel through. */
  readonly tunnel: string | undefined
  /** `FLEETCTL_SSH_USERNAME`: the user the tunnel logs in as. */
  readonly sshUsername: string | undefined
  /** `FLEETCTL_SSH_TIMEOUT`: how long the tunnel may take to connect. */
  readonly sshTimeout: Duration.Duration | undefined
  /** `FLEETCTL_KNOWN_HOSTS_FILE`: where the tunnel's host keys are checked. */
  readonly knownHostsFile: string | undefined
  /** `FLEETCTL_STRICT_HOST_KEY_CHECKING`: `true`, `false` or `accept-new`. */
  readonly strictHostKeyChecking: boolean | "accept-new" | undefined
  /** `FLEETCTL_CA_FILE`: a PEM file of trusted certificate authorities for `https://`. */
  readonly caFile: string | undefined
  /** `FLEETCTL_CERT_FILE`: the client certificate presented over `https://`. */
  readonly certFile: string | undefined
  /** `FLEETCTL_KEY_FILE`: the client certificate's key. */
  readonly keyFile: string | undefined
  /** `FLEETCTL_REQUEST_TIMEOUT`: the bound on each request. */
  readonly requestTimeout: Duration.Duration | undefined
  /** `SSH_AUTH_SOCK`: fleetctl's tunnel authenticates with the ssh-agent it finds there. */
  readonly sshAuthSock: string | undefined
}
