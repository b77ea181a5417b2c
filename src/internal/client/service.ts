/**
 * The client's shape, apart from `Fleet.ts` so that the modules written against it (the watch, the pipeline) need
 * not import the module that wires them together. `Fleet.ts` re-exports each type under the same name.
 */
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { APIError, FleetError, TransportError } from "../../FleetError.ts"
import type { Machine, MetadataOp } from "../../Machine.ts"
import type { DesiredState, FleetUnit, Unit } from "../../Unit.ts"
import type { UnitState } from "../../UnitState.ts"

/**
 * One page of a listing, for callers who page by hand: the items and the token of the next page, if any.
 *
 * @since 0.2.0
 * @internal
 */
export interface Page<A> {
  readonly items: ReadonlyArray<A>
  readonly nextPageToken: string | undefined
}

/**
 * Filters for `listUnitStates`; each is sent only when given.
 *
 * @since 0.2.0
 * @internal
 */
export interface UnitStateFilter {
  readonly machineId?: string | undefined
  readonly unitName?: string | undefined
}

/**
 * The fleet client's operations.
 *
 * @since 0.2.0
 * @internal
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
