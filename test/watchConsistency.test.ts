/**
 * `watchUnitStates` against the local fleet with a page size of 10 while another client deletes and creates units
 * between the watch's page requests: fleet's page tokens are page numbers, so such a listing skips or repeats a
 * state, and the watch must not turn that into an event.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, Queue, Random, Schedule, Stream } from "effect"
import { HttpClient, UrlParams } from "effect/http"
import * as Fleet from "../src/Fleet.ts"
import * as FleetServer from "../src/FleetServer.ts"
import * as FleetTransport from "../src/FleetTransport.ts"
import * as FleetWatch from "../src/FleetWatch.ts"
import { Machine } from "../src/Machine.ts"
import * as Unit from "../src/Unit.ts"
import type { UnitState } from "../src/UnitState.ts"
import { eventually } from "./support/localFleet.ts"
import { httpResponse, rawServer } from "./support/rawServer.ts"

const machines = [new Machine({ id: "m1", primaryIP: "10.0.0.1" })]
const options = [new Unit.UnitOption({ section: "Service", name: "ExecStart", value: "/bin/sleep 1d" })]
const launched = (name: string) => new Unit.Unit({ name, desiredState: "launched", options })
const nameOf = (i: number) => `u${String(i).padStart(2, "0")}.service`
const range = (n: number) => Array.from({ length: n }, (_, i) => i)

const watchUnitStates = FleetWatch.watchUnitStates

const describeChange = (change: FleetWatch.UnitStateChange): string =>
  change._tag === "Changed"
    ? `Changed ${change.state.name} ${change.previous.systemdActiveState}->${change.state.systemdActiveState}`
    : `${change._tag} ${change.state.name}`

/**
 * A local fleet of `count` launched units (page size 10), a watch over it whose every listing waits for a permit,
 * and a second client to change the fleet between the watch's page requests.
 */
const harness = (count: number) =>
  Effect.gen(function* () {
    const server = yield* FleetServer.make({
      port: 0,
      tokenLimit: 10,
      seed: { machines, units: range(count).map((i) => launched(nameOf(i))) }
    })
    const other = yield* Layer.build(Fleet.layer(server.url))
    const permits = yield* Queue.unbounded<void>()
    /** The watch's requests, as `listing N page P` and `confirm NAME`. */
    const drawn: Array<string> = []
    /** What the second client does before page P of listing N, keyed `N:P`. */
    const between = new Map<string, Effect.Effect<void>>()
    let listings = 0
    let page = 0

    // The query may be in the URL or in `urlParams`, depending on how the client builds its requests.
    const gate = (request: { readonly url: string; readonly urlParams: UrlParams.UrlParams }) =>
      Effect.gen(function* () {
        const url = new URL(request.url)
        if (!url.pathname.endsWith("/fleet/v1/state")) return
        const param = (name: string) =>
          Option.orElse(UrlParams.getFirst(request.urlParams, name), () =>
            Option.fromNullishOr(url.searchParams.get(name))
          )
        const unitName = param("unitName")
        if (Option.isSome(unitName)) {
          drawn.push(`confirm ${unitName.value}`)
          return
        }
        if (Option.isNone(param("nextPageToken"))) {
          listings++
          page = 1
          yield* Queue.take(permits)
        } else {
          page++
          const change = between.get(`${listings}:${page}`)
          if (change !== undefined) yield* change
        }
        drawn.push(`listing ${listings} page ${page}`)
      })

    const watchClient = Layer.effect(
      HttpClient.HttpClient,
      Effect.map(HttpClient.HttpClient, HttpClient.tapRequest(gate))
    ).pipe(Layer.provide(FleetTransport.layerTcp()))
    const watchFleet = yield* Layer.build(
      Fleet.layerHttpClient({ baseUrl: server.url, timeout: "1 minute" }).pipe(Layer.provide(watchClient))
    )
    const events = yield* Queue.unbounded<string>()
    yield* watchUnitStates({ interval: "1 millis" }).pipe(
      Stream.runForEach((change) => Queue.offer(events, describeChange(change))),
      Effect.provideContext(watchFleet),
      Effect.forkScoped
    )
    // Standing at the start of its first listing.
    yield* eventually(
      Effect.sync(() => listings === 1),
      "the watch's first listing"
    )
    const admin = <A, E>(effect: Effect.Effect<A, E, Fleet.Fleet>): Effect.Effect<void> =>
      effect.pipe(Effect.provideContext(other), Effect.orDie, Effect.asVoid)

    return {
      server,
      drawn,
      events,
      admin,
      /** Runs `change` through the second client right before page `page` of listing `listing`. */
      before: (listing: number, page: number, change: Effect.Effect<void>) => {
        between.set(`${listing}:${page}`, change)
      },
      /** Lets the next listing run, then waits until the watch stands at the start of the one after. */
      poll: (listingsInPoll = 1) =>
        Effect.gen(function* () {
          const target = listings + listingsInPoll
          yield* Queue.offerAll(
            permits,
            range(listingsInPoll).map(() => undefined)
          )
          yield* eventually(
            Effect.sync(() => listings >= target),
            `the watch to reach listing ${target}`
          )
          // Every change of the poll was offered before the next listing began.
          const emitted = yield* Queue.clear(events)
          const requests = drawn.splice(0)
          return { emitted, requests }
        }),
      /** The state GETs the server received. */
      stateGets: Effect.map(server.control.requests, (requests) =>
        requests.filter((r) => r.method === "GET" && r.url.startsWith("/fleet/v1/state"))
      )
    }
  })

const pages = (listing: number, count: number) => range(count).map((i) => `listing ${listing} page ${i + 1}`)
const sorted = (values: ReadonlyArray<string>) => [...values].sort()

describe("watchUnitStates across pages while other clients write", () => {
  it.live("the issue's case: u00 destroyed between pages 1 and 2: u10 silent, Removed u00 one poll later", () =>
    Effect.gen(function* () {
      const h = yield* harness(30)
      // First poll: 30 states over 3 full pages and fleet's empty fourth; spanning pages, it lists twice.
      const first = yield* h.poll(2)
      expect(first.emitted).toEqual(range(30).map((i) => `Added ${nameOf(i)}`))
      expect(first.requests).toEqual([...pages(1, 4), ...pages(2, 4)])

      h.before(3, 2, h.admin(Fleet.destroyUnit("u00.service")))
      const second = yield* h.poll()
      // Page 1 still had u00; page 2 of the 29 left starts at u11, so u10 is missing: looked up, present, silent.
      expect(second).toEqual({ emitted: [], requests: [...pages(3, 3), "confirm u10.service"] })

      const third = yield* h.poll()
      expect(third).toEqual({ emitted: ["Removed u00.service"], requests: [...pages(4, 3), "confirm u00.service"] })

      expect(yield* h.poll()).toEqual({ emitted: [], requests: pages(5, 3) })
      expect((yield* h.stateGets).length).toBe(8 + 4 + 4 + 3)
    })
  )

  it.live("the same delete during the first poll: all 30 reported Added once, then Removed u00", () =>
    Effect.gen(function* () {
      const h = yield* harness(30)
      h.before(1, 2, h.admin(Fleet.destroyUnit("u00.service")))
      const first = yield* h.poll(2)
      // The first listing skipped u10, the second had no u00: merged, they are the 30 states the watch began with.
      expect(first.emitted).toEqual(range(30).map((i) => `Added ${nameOf(i)}`))
      expect(first.requests).toEqual([...pages(1, 3), ...pages(2, 3)])

      const second = yield* h.poll()
      expect(second.emitted).toEqual(["Removed u00.service"])
      expect(sorted(second.requests)).toEqual(sorted([...pages(3, 3), "confirm u00.service"]))

      const third = yield* h.poll()
      expect(third).toEqual({ emitted: [], requests: pages(4, 3) })
    })
  )

  it.live("two deletes before the cursor: the two skipped states silent, both deletes Removed next poll", () =>
    Effect.gen(function* () {
      const h = yield* harness(30)
      yield* h.poll(2)
      h.before(
        3,
        2,
        Effect.andThen(h.admin(Fleet.destroyUnit("u00.service")), h.admin(Fleet.destroyUnit("u03.service")))
      )
      // 28 states left: page 2 starts at u12, so u10 and u11 are missing from the listing and found present.
      const second = yield* h.poll()
      expect(second.emitted).toEqual([])
      expect(sorted(second.requests)).toEqual(sorted([...pages(3, 3), "confirm u10.service", "confirm u11.service"]))

      const third = yield* h.poll()
      expect(third.emitted).toEqual(["Removed u00.service", "Removed u03.service"])
      expect(sorted(third.requests)).toEqual(sorted([...pages(4, 3), "confirm u00.service", "confirm u03.service"]))
      expect(yield* h.poll()).toEqual({ emitted: [], requests: pages(5, 3) })
    })
  )

  it.live("a create before the cursor repeats a state: no event until the next poll reports the new unit", () =>
    Effect.gen(function* () {
      const h = yield* harness(30)
      yield* h.poll(2)
      // "a.service" sorts before every u..: page 2 starts again at u09, listed twice.
      h.before(3, 2, h.admin(Fleet.createUnit("a.service", Unit.make({ options }))))
      const second = yield* h.poll()
      expect(second).toEqual({ emitted: [], requests: pages(3, 4) })
      const third = yield* h.poll()
      expect(third).toEqual({ emitted: ["Added a.service"], requests: pages(4, 4) })
      expect(yield* h.poll()).toEqual({ emitted: [], requests: pages(5, 4) })
    })
  )

  it.live("a new state that a create before the cursor lists twice is Added once", () =>
    Effect.gen(function* () {
      const h = yield* harness(30)
      yield* h.poll(2)
      // u08a is new and 10th in fleet's order, the last of page 1; a.service, created before page 2, pushes it to
      // the first place of page 2 as well.
      yield* h.admin(Fleet.createUnit("u08a.service", Unit.make({ options })))
      h.before(3, 2, h.admin(Fleet.createUnit("a.service", Unit.make({ options }))))
      expect(yield* h.poll()).toEqual({ emitted: ["Added u08a.service"], requests: pages(3, 4) })
      expect(yield* h.poll()).toEqual({ emitted: ["Added a.service"], requests: pages(4, 4) })
      expect(yield* h.poll()).toEqual({ emitted: [], requests: pages(5, 4) })
    })
  )

  it.live("a skipped state that did change is reported Changed, once", () =>
    Effect.gen(function* () {
      const h = yield* harness(30)
      yield* h.poll(2)
      h.before(
        3,
        2,
        Effect.andThen(
          h.admin(Fleet.setUnitDesiredState("u10.service", "loaded")),
          h.admin(Fleet.destroyUnit("u00.service"))
        )
      )
      const second = yield* h.poll()
      expect(second).toEqual({
        emitted: ["Changed u10.service active->inactive"],
        requests: [...pages(3, 3), "confirm u10.service"]
      })
      expect((yield* h.poll()).emitted).toEqual(["Removed u00.service"])
      expect(yield* h.poll()).toEqual({ emitted: [], requests: pages(5, 3) })
    })
  )

  it.live(
    "deletes and creates between every page of every poll, and writers racing: no lost, repeated or false event",
    () =>
      Effect.gen(function* () {
        // Odd units are never touched; even ones are churned by exactly one actor each, which counts what it did.
        const count = 60
        const h = yield* harness(count)
        const stable = new Set(
          range(count)
            .filter((i) => i % 2 === 1)
            .map(nameOf)
        )
        const created = new Map<string, number>()
        const removed = new Map<string, number>()
        const changed = new Map<string, number>()
        const exists = new Map<string, boolean>(range(count).map((i) => [nameOf(i), true]))
        const bump = (counts: Map<string, number>, name: string) => counts.set(name, (counts.get(name) ?? 0) + 1)

        // One random act on one churned unit: destroy it, create it again, or flip its desired state.
        const act = (name: string) =>
          Effect.gen(function* () {
            if (exists.get(name) === true) {
              if (yield* Random.nextBoolean) {
                yield* h.admin(Fleet.destroyUnit(name))
                exists.set(name, false)
                bump(removed, name)
              } else {
                const state = (yield* Random.nextBoolean) ? "loaded" : "launched"
                yield* h.admin(Fleet.setUnitDesiredState(name, state))
                bump(changed, name)
              }
            } else {
              yield* h.admin(Fleet.createUnit(name, launched(name)))
              exists.set(name, true)
              bump(created, name)
            }
          })

        const first = yield* h.poll(2)
        expect(first.emitted).toHaveLength(count)

        // Listings 3..22: before every page but the first, the "between" actor acts on u00..u18 (before the cursor).
        const betweenUnits = range(10).map((i) => nameOf(i * 2))
        const writerUnits = [range(10).map((i) => nameOf(20 + i * 4)), range(10).map((i) => nameOf(22 + i * 4))]
        for (let listing = 3; listing <= 22; listing++) {
          for (let page = 2; page <= 7; page++) {
            h.before(
              listing,
              page,
              Effect.flatMap(Random.nextIntBetween(0, betweenUnits.length - 1), (i) => act(betweenUnits[i]!))
            )
          }
        }
        const writers = yield* Effect.forEach(
          writerUnits,
          (units) =>
            Effect.gen(function* () {
              for (let n = 0; n < 60; n++) {
                yield* act(units[yield* Random.nextIntBetween(0, units.length - 1)]!)
                yield* Effect.sleep("1 millis")
              }
            }).pipe(Effect.forkScoped),
          { concurrency: "unbounded" }
        )

        const all: Array<string> = [...first.emitted]
        let confirmations = 0
        for (let poll = 0; poll < 20; poll++) {
          const { emitted, requests } = yield* h.poll()
          all.push(...emitted)
          confirmations += requests.filter((r) => r.startsWith("confirm")).length
        }
        yield* Fiber.joinAll(writers)
        // Quiet now: two more polls bring the watch level with fleet.
        for (let poll = 0; poll < 2; poll++) all.push(...(yield* h.poll()).emitted)

        // Replaying the events gives exactly fleet's final states: nothing lost.
        const view = new Map<string, string>()
        const perUnit = new Map<string, Array<string>>()
        for (const line of all) {
          const [tag, name] = line.split(" ") as [string, string]
          perUnit.set(name, [...(perUnit.get(name) ?? []), tag])
          // No repetition: Added only for an absent unit, Changed and Removed only for a present one.
          if (tag === "Added") expect(view.has(name), `${line} while present`).toBe(false)
          else expect(view.has(name), `${line} while absent`).toBe(true)
          if (tag === "Removed") view.delete(name)
          else view.set(name, line)
        }
        const finalStates = (yield* h.server.control.snapshot).states
        expect(sorted([...view.keys()])).toEqual(sorted(finalStates.map((s: UnitState) => s.name)))
        const quiet = yield* h.poll()
        expect(quiet.emitted).toEqual([])

        // Nothing false: an untouched unit has its first Added and nothing else; a churned one no more Removed than
        // deletes, no more Added than creates (beyond the first), no more Changed than flips and re-creates.
        for (const name of stable) expect(perUnit.get(name), name).toEqual(["Added"])
        for (const [name, tags] of perUnit) {
          if (stable.has(name)) continue
          const n = (tag: string) => tags.filter((t) => t === tag).length
          expect(n("Removed"), name).toBeLessThanOrEqual(removed.get(name) ?? 0)
          expect(n("Added") - 1, name).toBeLessThanOrEqual(created.get(name) ?? 0)
          expect(n("Changed"), name).toBeLessThanOrEqual((changed.get(name) ?? 0) + (created.get(name) ?? 0))
        }
        // The run did exercise it: units were destroyed before the cursor, and listings missed states that were
        // then found present (more lookups than Removed events).
        const removedEvents = all.filter((line) => line.startsWith("Removed")).length
        expect([...removed.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(10)
        expect(confirmations).toBeGreaterThan(removedEvents)
      })
  )

  it.live("a server repeating its page token fails each poll at the second page, MalformedResponse", () =>
    Effect.gen(function* () {
      let requests = 0
      const server = yield* rawServer((_, socket) => {
        requests++
        const state = { name: `s${requests}.service`, machineID: "m1" }
        socket.write(httpResponse(200, JSON.stringify({ states: [state], nextPageToken: "SAME" })))
      })
      const error = yield* watchUnitStates({ interval: "1 millis", retry: Schedule.recurs(2) }).pipe(
        Stream.runDrain,
        Effect.provide(Fleet.layer(server.url, { probe: false })),
        Effect.flip
      )
      expect(error).toMatchObject({
        _tag: "TransportError",
        reason: "MalformedResponse",
        message:
          'GET /fleet/v1/state: fleet sent the next-page token "SAME" a second time in one listing (after 1 page);' +
          " the listing would never end"
      })
      // Three attempts (the first and two retries), each stopped at its second page.
      expect(requests).toBe(6)
    })
  )
})
