/**
 * The client's operations, each a span around one or two calls of the request pipeline: names checked and encoded,
 * bodies built, listings paged.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { type APIError, TransportError, ValueError } from "../../FleetError.ts"
import { Machine } from "../../Machine.ts"
import { isDesiredState, Unit } from "../../Unit.ts"
import { UnitState } from "../../UnitState.ts"
import { invalidStateMessage } from "../messages.ts"
import type * as Request from "./request.ts"
import type { FleetService, Page, UnitStateFilter } from "./service.ts"

// python-fleet quotes with `safe=''`; encodeURIComponent leaves !'()* alone, so escape those too.
const encodeName = (name: string): string =>
  encodeURIComponent(name).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

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

/** The operations over one request pipeline. */
export const make = (pipeline: Request.Pipeline): FleetService => {
  const unitPath = (name: string) => `/fleet/v1/units/${encodeName(name)}`
  const fetchUnit = (name: string) => pipeline.json(Unit, "GET", unitPath(name))

  const getUnit = Effect.fn("Fleet.getUnit")(function* (name: string) {
    yield* Effect.annotateCurrentSpan("fleet.unit", name)
    return yield* fetchUnit(yield* requireName(name))
  })

  const createUnit = Effect.fn("Fleet.createUnit")(function* (name: string, unit: Unit) {
    yield* Effect.annotateCurrentSpan("fleet.unit", name)
    yield* requireName(name)
    const desiredState = unit.desiredState ?? "launched"
    yield* pipeline.request("PUT", unitPath(name), {
      body: { desiredState, options: unit.options.map(({ name, section, value }) => ({ section, name, value })) }
    })
    return yield* fetchUnit(name)
  })

  const setUnitDesiredState = Effect.fn("Fleet.setUnitDesiredState")(function* (unit: Unit | string, state: string) {
    const name = yield* requireName(unit)
    yield* Effect.annotateCurrentSpan({ "fleet.unit": name, "fleet.desiredState": state })
    if (!isDesiredState(state)) return yield* new ValueError({ message: invalidStateMessage })
    yield* pipeline.request("PUT", unitPath(name), { body: { desiredState: state } })
    return yield* fetchUnit(name)
  })

  const destroyUnit = Effect.fn("Fleet.destroyUnit")(function* (unit: Unit | string) {
    const name = yield* requireName(unit)
    yield* Effect.annotateCurrentSpan("fleet.unit", name)
    yield* pipeline.request("DELETE", unitPath(name), { notFoundOnRetryIsSuccess: true })
  })

  const listUnitsPage = Effect.fn("Fleet.listUnitsPage")((pageToken?: string) =>
    pipeline.page("units", Unit, "/fleet/v1/units", {}, pageToken)
  )

  const listUnitStatesPage = Effect.fn("Fleet.listUnitStatesPage")(
    (filter?: UnitStateFilter & { readonly pageToken?: string | undefined }) =>
      pipeline.page("states", UnitState, "/fleet/v1/state", stateParams(filter), filter?.pageToken)
  )

  const listMachinesPage = Effect.fn("Fleet.listMachinesPage")((pageToken?: string) =>
    pipeline.page("machines", Machine, "/fleet/v1/machines", {}, pageToken)
  )

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
    listMachinesPage
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
    const seen = new Set<string>()
    return Stream.paginate(undefined as string | undefined, (token) =>
      Effect.flatMap(fetch(token), (page) => {
        const next = page.nextPageToken
        if (next === undefined) return Effect.succeed([page.items, Option.none()] as const)
        if (seen.has(next)) {
          return Effect.fail(
            new TransportError({
              reason: "MalformedResponse",
              message:
                `${label}: fleet sent the next-page token ${JSON.stringify(next)} a second time in one listing` +
                ` (after ${seen.size} pages); the listing would never end`
            })
          )
        }
        seen.add(next)
        return Effect.succeed([page.items, Option.some(next)] as const)
      })
    )
  })
