/**
 * The client's operations, each a span around one or two calls of the request pipeline: names checked and encoded,
 * bodies built, listings paged.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { type APIError, type FleetError, type TransportError, ValueError } from "../../FleetError.ts"
import { Machine, type MetadataOp, metadataPatchBody, validateMetadataOp } from "../../Machine.ts"
import { type DesiredState, type FleetUnit, isDesiredState, Unit } from "../../Unit.ts"
import { UnitState } from "../../UnitState.ts"
import { invalidStateMessage } from "../messages.ts"
import * as Decode from "./decode.ts"
import { repeatedTokenGuard } from "./paging.ts"
import * as Request from "./request.ts"
import type { FleetService, Page, UnitStateFilter } from "./service.ts"

// python-fleet quotes with `safe=''`; encodeURIComponent leaves !'()* alone, so escape those too. Unit names rarely
// hold them: a test spares most calls the replace and its callback.
const reserved = /[!'()*]/
const reservedAll = /[!'()*]/g
const encodeName = (name: string): string => {
  const encoded = encodeURIComponent(name)
  return reserved.test(encoded)
    ? encoded.replace(reservedAll, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    : encoded
}

const requireName = (unit: Unit | string): Effect.Effect<string, ValueError> => {
  const name = typeof unit === "string" ? unit : unit.name
  return name === undefined || name === ""
    ? Effect.fail(new ValueError({ message: "unit name cannot be empty" }))
    : Effect.succeed(name)
}

const stateParams = (filter: UnitStateFilter | undefined): Record<string, string> => ({
  ...(filter?.machineId !== undefined ? { machineID: filter.machineId } : {}),
  ...(filter?.unitName !== undefined ? { unitName: filter.unitName } : {})
})

const unitDecoder = Request.decoder(Unit, Decode.unit)
const unitsPage = Request.decoder(Request.PageSchema("units", Unit), Decode.page("units", Decode.unit))
const statesPage = Request.decoder(Request.PageSchema("states", UnitState), Decode.page("states", Decode.unitState))
const machinesPage = Request.decoder(Request.PageSchema("machines", Machine), Decode.page("machines", Decode.machine))

/**
 * The operation's span, its attributes given when it starts; no stack trace is captured per call (a trace's
 * operation name and `url.path` say where it came from).
 */
const span =
  (name: string, attributes?: Record<string, unknown>) =>
  <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.withSpan(effect, name, { attributes, captureStackTrace: false })

/**
 * The operations over one request pipeline.
 *
 * @since 0.2.0
 * @internal
 */
export const make = (pipeline: Request.Pipeline): FleetService => {
  const unitPath = (name: string) => `/fleet/v1/units/${encodeName(name)}`
  // fleet always names the units it sends.
  const fetchUnit = (name: string, options?: Request.RequestOptions) =>
    pipeline.json(unitDecoder, "GET", unitPath(name), options) as Effect.Effect<FleetUnit, APIError | TransportError>
  // The unit as fleet holds it after a PUT: part of the operation, not what its span describes.
  const refetchUnit = (name: string) => fetchUnit(name, { annotate: false })

  const getUnit = (name: string) =>
    Effect.flatMap(requireName(name), (name) => fetchUnit(name)).pipe(span("Fleet.getUnit", { "fleet.unit": name }))

  const createUnit = (name: string, unit: Unit) =>
    Effect.flatMap(requireName(name), () =>
      Effect.andThen(
        pipeline.request("PUT", unitPath(name), {
          body: {
            desiredState: unit.desiredState ?? "launched",
            options: unit.options.map(({ name, section, value }) => ({ section, name, value }))
          }
        }),
        refetchUnit(name)
      )
    ).pipe(span("Fleet.createUnit", { "fleet.unit": name }))

  const setUnitDesiredState = (unit: Unit | string, state: DesiredState | (string & {})) =>
    Effect.flatMap(
      requireName(unit),
      (name): Effect.Effect<FleetUnit, FleetError> =>
        isDesiredState(state)
          ? Effect.andThen(
              pipeline.request("PUT", unitPath(name), { body: { desiredState: state } }),
              refetchUnit(name)
            )
          : Effect.fail(new ValueError({ message: invalidStateMessage }))
    ).pipe(
      span("Fleet.setUnitDesiredState", {
        "fleet.unit": typeof unit === "string" ? unit : unit.name,
        "fleet.desiredState": state
      })
    )

  const destroyUnit = (unit: Unit | string) =>
    Effect.flatMap(requireName(unit), (name) =>
      Effect.asVoid(pipeline.request("DELETE", unitPath(name), { notFoundOnRetryIsSuccess: true }))
    ).pipe(span("Fleet.destroyUnit", { "fleet.unit": typeof unit === "string" ? unit : unit.name }))

  const listUnitsPage = (pageToken?: string) =>
    (
      pipeline.page(unitsPage, "/fleet/v1/units", {}, pageToken) as Effect.Effect<
        Page<FleetUnit>,
        APIError | TransportError
      >
    ).pipe(span("Fleet.listUnitsPage"))

  const listUnitStatesPage = (filter?: UnitStateFilter & { readonly pageToken?: string | undefined }) =>
    pipeline
      .page(statesPage, "/fleet/v1/state", stateParams(filter), filter?.pageToken)
      .pipe(span("Fleet.listUnitStatesPage"))

  const listMachinesPage = (pageToken?: string) =>
    pipeline.page(machinesPage, "/fleet/v1/machines", {}, pageToken).pipe(span("Fleet.listMachinesPage"))

  const patchMachineMetadata = (ops: ReadonlyArray<MetadataOp>): Effect.Effect<void, FleetError> =>
    Effect.suspend((): Effect.Effect<void, FleetError> => {
      for (const op of ops) {
        const invalid = validateMetadataOp(op)
        if (invalid !== undefined) return Effect.fail(new ValueError({ message: invalid }))
      }
      if (ops.length === 0) return Effect.void
      return Effect.asVoid(pipeline.request("PATCH", "/fleet/v1/machines", { body: metadataPatchBody(ops) }))
    }).pipe(span("Fleet.patchMachineMetadata", { "fleet.ops": ops.length }))

  return {
    baseUrl: pipeline.baseUrl,
    createUnit,
    setUnitDesiredState,
    destroyUnit,
    getUnit,
    listUnits: () => paginate("GET /fleet/v1/units", listUnitsPage),
    listUnitsPage,
    listUnitStates: (filter) =>
      paginate("GET /fleet/v1/state", (pageToken) => listUnitStatesPage({ ...filter, pageToken })),
    listUnitStatesPage,
    listMachines: () => paginate("GET /fleet/v1/machines", listMachinesPage),
    listMachinesPage,
    patchMachineMetadata
  }
}

/**
 * A listing, one page pulled at a time. A next-page token already seen in this listing means the server is going
 * round in circles: the listing fails there instead of fetching forever (that page's items are not emitted).
 */
const paginate = <A>(
  label: string,
  fetch: (pageToken: string | undefined) => Effect.Effect<Page<A>, APIError | TransportError>
): Stream.Stream<A, APIError | TransportError> =>
  Stream.suspend(() => {
    const repeated = repeatedTokenGuard(label)
    return Stream.paginate(undefined as string | undefined, (token) =>
      Effect.flatMap(fetch(token), (page) => {
        const next = page.nextPageToken
        if (next === undefined) return Effect.succeed([page.items, Option.none()] as const)
        const failure = repeated(next)
        return failure === undefined ? Effect.succeed([page.items, Option.some(next)] as const) : Effect.fail(failure)
      })
    )
  })
