/**
 * One poll of the unit state listing that reports nothing false although fleet's paging is positional. Written
 * against the one operation it uses, so that it depends on no module of the client but the service's types and
 * the paging guard.
 */
import * as Effect from "effect/Effect"
import type { APIError, TransportError } from "../../FleetError.ts"
import type { UnitState } from "../../UnitState.ts"
import { compareBytes } from "../goString.ts"
import { repeatedTokenGuard } from "./paging.ts"
import type { UnitStateFilter } from "./service.ts"

/**
 * What a snapshot needs of the client: one page of the state listing.
 *
 * @since 0.2.0
 * @internal
 */
export interface StatePages {
  readonly listUnitStatesPage: (
    filter?: UnitStateFilter & { readonly pageToken?: string | undefined }
  ) => Effect.Effect<
    { readonly items: ReadonlyArray<UnitState>; readonly nextPageToken: string | undefined },
    APIError | TransportError
  >
}

// Unit names cannot contain "/", so this cannot collide.
/**
 * A unit state's identity in a watch: its machine ID and unit name.
 *
 * @since 0.2.0
 * @internal
 */
export const keyOf = (state: UnitState): string => `${state.machineID ?? ""}/${state.name}`

/** Events come in fleet's order (unit name, then machine ID, byte-wise) even when a state was found afterwards. */
const inFleetOrder = (states: ReadonlyMap<string, UnitState>): Map<string, UnitState> =>
  new Map(
    Array.from(states).sort(
      ([, a], [, b]) => compareBytes(a.name, b.name) || compareBytes(a.machineID ?? "", b.machineID ?? "")
    )
  )

/** One whole listing, and how many pages it took: a listing of one page is one consistent read by fleet. */
interface Listing {
  readonly states: ReadonlyArray<UnitState>
  readonly pages: number
}

// Paged here rather than through `listUnitStates`, because whether a listing spanned pages decides what it proves.
const listAll = (fleet: StatePages, filter: UnitStateFilter): Effect.Effect<Listing, APIError | TransportError> =>
  Effect.suspend(() => {
    const states: Array<UnitState> = []
    const repeated = repeatedTokenGuard("GET /fleet/v1/state")
    const next = (pageToken: string | undefined, pages: number): Effect.Effect<Listing, APIError | TransportError> =>
      Effect.flatMap(
        fleet.listUnitStatesPage(pageToken === undefined ? filter : { ...filter, pageToken }),
        (page): Effect.Effect<Listing, APIError | TransportError> => {
          for (const state of page.items) states.push(state)
          const token = page.nextPageToken
          if (token === undefined) return Effect.succeed({ states, pages: pages + 1 })
          const failure = repeated(token)
          return failure === undefined ? next(token, pages + 1) : Effect.fail(failure)
        }
      )
    return next(undefined, 0)
  })

/**
 * The states fleet holds now, as far as a poll can tell without reporting anything false.
 *
 * fleet's page tokens are page numbers, not snapshots: a unit removed before the cursor between two page requests
 * shifts every later state one place forward, so the next page starts one state late and that state is missing
 * from the listing although it never changed (a state added before the cursor is listed twice instead, which is
 * harmless here). A listing of one page is a single read and proves absence; a longer one does not, so each known
 * state missing from it is looked up on its own (`?unitName=&machineID=`, one page) before it counts as removed.
 * The first poll has nothing to compare with: when it spans pages, a second listing is merged in, so that a state
 * skipped by one is still reported by the other.
 *
 * @since 0.2.0
 * @internal
 */
export const snapshot = (
  fleet: StatePages,
  filter: UnitStateFilter,
  seen: ReadonlyMap<string, UnitState> | undefined
): Effect.Effect<Map<string, UnitState>, APIError | TransportError> =>
  Effect.gen(function* () {
    const listing = yield* listAll(fleet, filter)
    const current = new Map<string, UnitState>()
    for (const state of listing.states) current.set(keyOf(state), state)
    if (listing.pages === 1) return current
    if (seen === undefined) {
      // Later wins: a state in both listings is reported as the second one saw it.
      const size = current.size
      for (const state of (yield* listAll(fleet, filter)).states) current.set(keyOf(state), state)
      return current.size === size ? current : inFleetOrder(current)
    }
    const missing = Array.from(seen.values()).filter((state) => !current.has(keyOf(state)))
    const found = yield* Effect.forEach(
      missing,
      (state) =>
        Effect.map(
          listAll(fleet, {
            unitName: state.name,
            ...(state.machineID !== undefined ? { machineId: state.machineID } : {})
          }),
          ({ states }) => states.find((candidate) => keyOf(candidate) === keyOf(state))
        ),
      { concurrency: 4 }
    )
    const size = current.size
    for (const state of found) if (state !== undefined) current.set(keyOf(state), state)
    return current.size === size ? current : inFleetOrder(current)
  })
