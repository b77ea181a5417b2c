/**
 * The client's operations, each a span around one or two calls of the request pipeline: names checked and encoded,
 * bodies built, listings paged.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
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

const emptyName = () => Effect.fail(new ValueError({ message: "unit name cannot be empty" }))

// a JavaScript caller can pass anything the types forbid
const isMissing = (name: string | undefined): name is "" | undefined => name === undefined || name === ""

const nameOf = (unit: Unit | string): string | undefined => (typeof unit === "string" ? unit : unit.name)

const stateParams = (filter: UnitStateFilter | undefined): Record<string, string> => ({
  ...(filter?.machineId !== undefined ? { machineID: filter.machineId } : {}),
  ...(filter?.unitName !== undefined ? { unitName: filter.unitName } : {})
})

const unitDecoder = Request.decoder(Unit, Decode.unit)
const unitsPage = Request.pageDecoder("units", Unit, Decode.unit)
const statesPage = Request.pageDecoder("states", UnitState, Decode.unitState)
const machinesPage = Request.pageDecoder("machines", Machine, Decode.machine)

/**
 * An operation in its span, its attributes given when it starts, or in none when nothing could see it.
 *
 * - With Effect's own `nativeTracer` (the default, which exports spans nowhere), the span of an operation on the
 *   dispatcher without a retry schedule could not be seen by anyone: it is not made the current span, so nothing
 *   nests under it. It is not built at all then, as Effect's docs suggest (`Tracer.nativeTracer`). It is built with
 *   any other tracer, and always over an `HttpClient` (whose own spans, and the trace headers it sends, hang under
 *   it) or with a retry schedule (the caller's code, which runs under it).
 * - The span is handed to the requests of the operation rather than provided to the fiber (`Effect.withSpan`), which
 *   cost about as much as the rest of a call: a request it describes sets its attributes, a transport that makes
 *   spans of its own makes them its children, and a retry schedule runs under it.
 * - No stack trace is captured per call: a trace's operation name and `url.path` say where it came from.
 */
const operation = <A, E>(
  pipeline: Request.Pipeline,
  name: string,
  attributes: Record<string, unknown> | undefined,
  body: (span: Tracer.Span | undefined) => Effect.Effect<A, E>
): Effect.Effect<A, E> =>
  pipeline.spanReachesCode
    ? Effect.useSpan(name, { attributes }, body)
    : Effect.withFiber((fiber) =>
        fiber.getRef(Tracer.Tracer) === Tracer.nativeTracer
          ? body(undefined)
          : Effect.useSpan(name, { attributes }, body)
      )

/**
 * The operations over one request pipeline.
 *
 * @since 0.2.0
 * @internal
 */
export const make = (pipeline: Request.Pipeline): FleetService => {
  const unitPath = (name: string) => `/fleet/v1/units/${encodeName(name)}`
  // fleet always names the units it sends.
  const fetchUnit = (name: string, span: Tracer.Span | undefined, describes = true) =>
    pipeline.json(unitDecoder, "GET", unitPath(name), { span, describes }) as Effect.Effect<
      FleetUnit,
      APIError | TransportError
    >

  const getUnit = (name: string) =>
    operation(
      pipeline,
      "Fleet.getUnit",
      { "fleet.unit": name },
      (span): Effect.Effect<FleetUnit, FleetError> => (isMissing(name) ? emptyName() : fetchUnit(name, span))
    )

  // The unit as fleet holds it after a PUT is part of the operation, but not what its span describes.
  const putThenGet = (name: string, body: unknown, span: Tracer.Span | undefined) =>
    Effect.andThen(pipeline.request("PUT", unitPath(name), { body, span }), fetchUnit(name, span, false))

  const createUnit = (name: string, unit: Unit) =>
    operation(
      pipeline,
      "Fleet.createUnit",
      { "fleet.unit": name },
      (span): Effect.Effect<FleetUnit, FleetError> =>
        isMissing(name)
          ? emptyName()
          : putThenGet(
              name,
              {
                desiredState: unit.desiredState ?? "launched",
                options: unit.options.map(({ name, section, value }) => ({ section, name, value }))
              },
              span
            )
    )

  const setUnitDesiredState = (unit: Unit | string, state: DesiredState | (string & {})) => {
    const name = nameOf(unit)
    return operation(
      pipeline,
      "Fleet.setUnitDesiredState",
      { "fleet.unit": name, "fleet.desiredState": state },
      (span): Effect.Effect<FleetUnit, FleetError> =>
        isMissing(name)
          ? emptyName()
          : isDesiredState(state)
            ? putThenGet(name, { desiredState: state }, span)
            : Effect.fail(new ValueError({ message: invalidStateMessage }))
    )
  }

  const destroyUnit = (unit: Unit | string) => {
    const name = nameOf(unit)
    return operation(
      pipeline,
      "Fleet.destroyUnit",
      { "fleet.unit": name },
      (span): Effect.Effect<void, FleetError> =>
        isMissing(name)
          ? emptyName()
          : Effect.asVoid(pipeline.request("DELETE", unitPath(name), { notFoundOnRetryIsSuccess: true, span }))
    )
  }

  const listUnitsPage = (pageToken?: string) =>
    operation(
      pipeline,
      "Fleet.listUnitsPage",
      undefined,
      (span) =>
        pipeline.page(unitsPage, "/fleet/v1/units", {}, pageToken, span) as Effect.Effect<
          Page<FleetUnit>,
          APIError | TransportError
        >
    )

  const listUnitStatesPage = (filter?: UnitStateFilter & { readonly pageToken?: string | undefined }) =>
    operation(pipeline, "Fleet.listUnitStatesPage", undefined, (span) =>
      pipeline.page(statesPage, "/fleet/v1/state", stateParams(filter), filter?.pageToken, span)
    )

  const listMachinesPage = (pageToken?: string) =>
    operation(pipeline, "Fleet.listMachinesPage", undefined, (span) =>
      pipeline.page(machinesPage, "/fleet/v1/machines", {}, pageToken, span)
    )

  const patchMachineMetadata = (ops: ReadonlyArray<MetadataOp>): Effect.Effect<void, FleetError> =>
    operation(
      pipeline,
      "Fleet.patchMachineMetadata",
      { "fleet.ops": ops.length },
      (span): Effect.Effect<void, FleetError> => {
        for (const op of ops) {
          const invalid = validateMetadataOp(op)
          if (invalid !== undefined) return Effect.fail(new ValueError({ message: invalid }))
        }
        if (ops.length === 0) return Effect.void
        return Effect.asVoid(pipeline.request("PATCH", "/fleet/v1/machines", { body: metadataPatchBody(ops), span }))
      }
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
