import { execFile } from "node:child_process"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { daemon, desiredUnits, reconcile } from "../examples/daemon.ts"
import * as Fleet from "../src/Fleet.ts"
import * as FleetWatch from "../src/FleetWatch.ts"
import * as FleetControl from "../src/FleetControl.ts"
import * as FleetServer from "../src/FleetServer.ts"
import { Machine } from "../src/Machine.ts"
import * as Unit from "../src/Unit.ts"
import { eventually, openSocketsOn } from "./support/localFleet.ts"

const machines = ["m1", "m2", "m3"].map((id, i) => new Machine({ id, primaryIP: `10.0.0.${i + 1}` }))
const retry = Fleet.makeRetrySchedule({ base: "10 millis", maxDelay: "50 millis" })
const launched = (name: string) =>
  FleetWatch.waitForUnit(name, "launched", { timeout: "10 seconds", interval: "20 millis" })

describe("examples/daemon.ts", () => {
  it.live("reconcile creates what is missing and relaunches what is not launched, then has nothing to do", () =>
    Effect.gen(function* () {
      const loaded = Unit.withDesiredState(desiredUnits.get("hello@2.service")!, "loaded")
      const server = yield* FleetServer.make({
        port: 0,
        seed: { machines, units: [new Unit.Unit({ ...loaded, name: "hello@2.service" })] }
      })
      yield* Effect.gen(function* () {
        expect(yield* reconcile(desiredUnits)).toEqual([
          "created hello@1.service",
          "relaunched hello@2.service",
          "created hello@3.service"
        ])
        expect(yield* reconcile(desiredUnits)).toEqual([])
        for (const name of desiredUnits.keys()) yield* launched(name)
      }).pipe(Effect.provide(Fleet.layer(server.url)))
    })
  )

  it.live("the loop repairs destroyed and stopped units, through injected 503s, and stops cleanly", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0, seed: { machines } })
      yield* Effect.gen(function* () {
        const loop = yield* Effect.forkChild(daemon(desiredUnits, { interval: "20 millis", resync: "30 seconds" }))
        for (const name of desiredUnits.keys()) yield* launched(name)

        yield* Fleet.destroyUnit("hello@2.service")
        yield* launched("hello@2.service")

        yield* server.control.failNext(3, FleetControl.Fault.Unavailable)
        yield* Fleet.setUnitDesiredState("hello@3.service", "loaded")
        yield* launched("hello@3.service")

        yield* Fiber.interrupt(loop)
        expect(loop.pollUnsafe()?._tag).toBe("Failure")
      }).pipe(Effect.provide(Fleet.layer(server.url, { retry })))
      yield* eventually(
        Effect.sync(() => openSocketsOn(server.port!) === 0),
        "the daemon's connections to close"
      )
    })
  )
})

describe("examples/tracing.ts", () => {
  it("prints every operation's span with method, path, status and retries", async () => {
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        ["--conditions=effect-fleet-source", "examples/tracing.ts"],
        { timeout: 60_000 },
        (error, stdout) => resolve({ code: error === null ? 0 : (error.code as number | null), stdout })
      )
    })
    expect(code).toBe(0)
    const getUnit = stdout.split("\n").find((line) => line.startsWith("span Fleet.getUnit") && line.includes("hello"))
    expect(getUnit).toContain('http.request.method="GET"')
    expect(getUnit).toContain('url.path="/fleet/v1/units/hello.service"')
    expect(getUnit).toContain("http.response.status_code=200")
    expect(getUnit).toContain("fleet.retries=2")
    expect(stdout).toMatch(/span Fleet\.getUnit .* failed .*http\.response\.status_code=404/)
    // an operation's span describes its own request: createUnit's PUT, not the GET that follows it
    const createUnit = stdout.split("\n").find((line) => line.startsWith("span Fleet.createUnit"))
    expect(createUnit).toContain('http.request.method="PUT"')
    expect(createUnit).toContain('url.path="/fleet/v1/units/hello.service"')
  })
})
