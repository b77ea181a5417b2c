import { Effect, Stream } from "effect"
import { Fleet } from "effect-fleet"

// Listings are Streams: a page is fetched only when the consumer needs it.
export const firstFive = Fleet.listUnits().pipe(Stream.take(5), Stream.runCollect) // one request

export const runningOnMachine = Fleet.listUnitStates({ machineId: "2901a44df0834bef935e24a0ddddcc23" }).pipe(
  Stream.filter((state) => state.systemdSubState === "running"),
  Stream.map((state) => state.name),
  Stream.runCollect
)

export const machineIps = Fleet.listMachines().pipe(
  Stream.map((machine) => machine.primaryIP),
  Stream.runCollect
)

// Paging by hand, when you keep the token yourself
export const firstPage = Effect.gen(function* () {
  const page = yield* Fleet.listUnitsPage()
  const next = page.nextPageToken === undefined ? undefined : yield* Fleet.listUnitsPage(page.nextPageToken)
  return [page.items, next?.items ?? []]
})
