/**
 * The library operations the CLI is built on, against the local fleet server: machine metadata, the typed
 * desired state, template instances, the many-unit wait with every failure reported.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Fleet from "../src/Fleet.ts"
import * as FleetControl from "../src/FleetControl.ts"
import * as FleetServer from "../src/FleetServer.ts"
import * as FleetUnits from "../src/FleetUnits.ts"
import type * as Machine from "../src/Machine.ts"
import * as Unit from "../src/Unit.ts"

const m1 = "aaaa1111bbbb2222cccc"

const withFleet = <A, E>(
  effect: Effect.Effect<A, E, Fleet.Fleet | FleetControl.FleetControl>,
  agents: "simulated" | "off" = "simulated"
) =>
  Effect.gen(function* () {
    const server = yield* FleetServer.make({
      port: 0,
      agents,
      seed: {
        machines: [{ id: m1, primaryIP: "10.0.0.1", metadata: { region: "east", disk: "ssd" } } as never]
      }
    })
    return yield* effect.pipe(
      Effect.provide(Fleet.layer(server.url, { probe: false })),
      Effect.provideService(FleetControl.FleetControl, server.control)
    )
  }).pipe(Effect.scoped)

const sleeper = (command: string) =>
  Unit.fromString(`[Service]\nExecStart=/bin/sleep ${command}\n`).pipe(Effect.map(Unit.withDesiredState("inactive")))

describe("Fleet.patchMachineMetadata", () => {
  it.effect("adds, replaces and removes keys in one request", () =>
    withFleet(
      Effect.gen(function* () {
        yield* Fleet.patchMachineMetadata([
          { op: "add", machineId: m1, key: "role", value: "db" },
          { op: "replace", machineId: m1, key: "region", value: "west" },
          { op: "remove", machineId: m1, key: "disk" }
        ])
        const [machine] = yield* Stream.runCollect(Fleet.listMachines())
        expect(machine?.metadata).toEqual({ region: "west", role: "db" })
      })
    )
  )

  it.effect("refuses ops fleet would refuse before sending anything", () =>
    withFleet(
      Effect.gen(function* () {
        const errors = yield* Effect.forEach(
          [
            { op: "add", machineId: m1, key: "bad key", value: "x" },
            { op: "add", machineId: m1, key: "k", value: "" },
            { op: "remove", machineId: "", key: "k" },
            { op: "remove", machineId: "a/b", key: "k" },
            { op: "merge", machineId: m1, key: "k" }
          ] as unknown as ReadonlyArray<Machine.MetadataOp>,
          (op) => Effect.flip(Fleet.patchMachineMetadata([{ op: "add", machineId: m1, key: "ok", value: "1" }, op]))
        )
        expect(errors.map((e) => [e._tag, e.message])).toEqual([
          ["ValueError", 'invalid metadata key "bad key": letters, digits, "_", "." and "-" only'],
          ["ValueError", "invalid value: add and replace require a value"],
          ["ValueError", 'invalid machine ID ""'],
          ["ValueError", 'invalid machine ID "a/b"'],
          ["ValueError", "invalid op: expect add, remove, or replace"]
        ])
        // the valid op before each bad one was not sent either
        const [machine] = yield* Stream.runCollect(Fleet.listMachines())
        expect(machine?.metadata).toEqual({ region: "east", disk: "ssd" })
      })
    )
  )
})

describe("Fleet.setUnitDesiredState", () => {
  it.effect("takes a DesiredState, still accepts a plain string, and refuses an invalid one", () =>
    withFleet(
      Effect.gen(function* () {
        yield* Fleet.createUnit("a.service", yield* sleeper("1d"))
        const typed: Unit.DesiredState = "loaded"
        const unit = yield* Fleet.setUnitDesiredState("a.service", typed)
        // fleet-sourced units carry their name in their type
        const name: string = unit.name
        expect([name, unit.desiredState]).toEqual(["a.service", "loaded"])
        const plain: string = "inactive"
        expect((yield* Fleet.setUnitDesiredState("a.service", plain)).desiredState).toBe("inactive")
        const refused = yield* Effect.flip(Fleet.setUnitDesiredState("a.service", "running"))
        expect(refused.message).toBe("state must be one of: ['inactive', 'loaded', 'launched']")
      }),
      "off"
    )
  )
})

describe("FleetUnits", () => {
  it("names and templates as fleetctl reads them", () => {
    expect(FleetUnits.unitName("web@1")).toBe("web@1.service")
    expect(FleetUnits.unitName("units/db.socket")).toBe("db.socket")
    expect(FleetUnits.unitName("a.conf")).toBe("a.conf.service")
    expect(FleetUnits.templateOf("web@1.service")).toBe("web@.service")
    expect(FleetUnits.templateOf("web@.service")).toBeUndefined()
    expect(FleetUnits.templateOf("web.service")).toBeUndefined()
  })

  it.effect("instantiate: from the cluster's template first, else the local one, else a clear error", () =>
    withFleet(
      Effect.gen(function* () {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-tpl-"))
        fs.writeFileSync(path.join(dir, "web@.service"), "[Service]\nExecStart=/bin/sleep local\n")
        const local = yield* FleetUnits.instantiate("web@1.service", { cwd: dir })
        expect(Unit.toUnitFile(local)).toBe("[Service]\nExecStart=/bin/sleep local\n")
        yield* Fleet.createUnit("web@.service", yield* sleeper("cluster"))
        const cluster = yield* FleetUnits.instantiate("web@2", { cwd: dir })
        expect(Unit.toUnitFile(cluster)).toBe("[Service]\nExecStart=/bin/sleep cluster\n")
        const missing = yield* Effect.flip(FleetUnits.instantiate("db@1.service", { cwd: dir }))
        expect(missing.message).toBe("unable to find template Unit(db@.service) in Registry or on filesystem")
        const notInstance = yield* Effect.flip(FleetUnits.instantiate("db.service", { cwd: dir }))
        expect(notInstance.message).toBe("error Unit db.service does not seem to be a template unit")
      }),
      "off"
    )
  )

  it.live("waitAll reaches a systemd sub-state (running) for every unit", () =>
    withFleet(
      Effect.gen(function* () {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-wait-"))
        fs.writeFileSync(path.join(dir, "web@.service"), "[Service]\nExecStart=/bin/sleep 1d\n")
        yield* FleetUnits.start(["web@1", "web@2"], { cwd: dir, noBlock: true })
        const reached: Array<string> = []
        yield* FleetUnits.waitAll(["web@1.service", "web@2.service"], "running", {
          timeout: "30 seconds",
          interval: "50 millis",
          onProgress: (p) => Effect.sync(() => (p._tag === "Reached" ? reached.push(p.name) : undefined))
        })
        expect(reached.sort()).toEqual(["web@1.service", "web@2.service"])
      })
    )
  )

  it.live("start, stop, unload and destroy over many units, reporting fleetctl's events", () =>
    withFleet(
      Effect.gen(function* () {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-ops-"))
        fs.writeFileSync(path.join(dir, "web@.service"), "[Service]\nExecStart=/bin/sleep 1d\n")
        fs.writeFileSync(path.join(dir, "all.service"), "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nGlobal=true\n")
        const events: Array<string> = []
        const options: FleetUnits.Options = {
          cwd: dir,
          interval: "50 millis",
          onProgress: (p) =>
            Effect.sync(() => {
              if (p._tag === "Reached") events.push(`reached ${p.name} ${p.unit.currentState}`)
              if (p._tag === "Triggered") events.push(`triggered ${p.name} ${p.action}${p.global ? " global" : ""}`)
              if (p._tag === "Destroyed") events.push(`destroyed ${p.name}`)
              if (p._tag === "Created") events.push(`created ${p.name}`)
            })
        }
        const started = yield* FleetUnits.start(["web@1", "web@2", "all"], options)
        expect(started).toEqual(["web@1.service", "web@2.service"])
        expect(events.filter((e) => !e.startsWith("reached")).sort()).toEqual([
          "created all.service",
          "created web@1.service",
          "created web@2.service",
          "triggered all.service start global"
        ])
        expect(events.filter((e) => e.startsWith("reached")).sort()).toEqual([
          "reached all.service undefined",
          "reached web@1.service inactive",
          "reached web@1.service launched",
          "reached web@2.service inactive",
          "reached web@2.service launched"
        ])
        events.length = 0
        const stopped = yield* FleetUnits.stop(["web@1", "web@2", "ghost"], options)
        expect(stopped).toEqual({ found: 2, waited: ["web@1.service", "web@2.service"], waitError: undefined })
        const again = yield* FleetUnits.stop(["web@1"], options)
        expect(again.waited).toEqual([])
        const unloaded = yield* FleetUnits.unload(["web@1"], options)
        expect(unloaded.waited).toEqual(["web@1.service"])
        expect(events).toContain("reached web@1.service inactive")
        // fleetctl refuses to stop an inactive unit, and touches nothing after it
        const refused = yield* FleetUnits.stop(["web@1", "web@2"], options)
        expect(refused).toEqual({ found: 2, waited: [], refused: { name: "web@1.service", state: "inactive" } })
        const triggered = yield* FleetUnits.unload(["web@2"], { ...options, noBlock: true })
        expect(triggered.waited).toEqual(["web@2.service"])
        expect(events).toContain("triggered web@2.service unload")
        const destroyed = yield* FleetUnits.destroy(["web@1", "web@2", "all", "ghost"], options)
        expect(destroyed).toEqual({ found: 3, failures: [] })
        expect(events.filter((e) => e.startsWith("destroyed"))).toEqual([
          "destroyed web@1.service",
          "destroyed web@2.service",
          "destroyed all.service"
        ])
        const missing = yield* Effect.flip(FleetUnits.load(["nothere"], options))
        expect([missing.stage, missing.message]).toEqual([
          "create",
          "unable to find Unit(nothere.service) in Registry or on filesystem"
        ])
      })
    )
  )

  it.live("waitAll waits out fleet's 503 and still reaches the state", () =>
    withFleet(
      Effect.gen(function* () {
        const control = yield* FleetControl.FleetControl
        yield* Fleet.createUnit("a.service", yield* sleeper("1d"))
        yield* control.failNext(3, FleetControl.Fault.Unavailable)
        yield* FleetUnits.waitAll(["a.service"], "inactive", { timeout: "10 seconds", interval: "20 millis" })
        // a failure a retry would only repeat ends the wait at once
        yield* control.failNext(
          1,
          FleetControl.Fault.Status(400, '{"error":{"code":400,"message":"bad"}}', "application/json")
        )
        const error = yield* Effect.flip(
          FleetUnits.waitAll(["a.service"], "launched", { timeout: "10 seconds", interval: "20 millis" })
        )
        expect(error._tag === "APIError" ? error.code : error._tag).toBe(400)
      }),
      "off"
    )
  )

  it.live("waitAll reports every unit that did not make it, with what was last seen", () =>
    withFleet(
      Effect.gen(function* () {
        yield* Fleet.createUnit("idle.service", yield* sleeper("1d"))
        yield* Fleet.createUnit("other.service", yield* sleeper("2d"))
        const error = yield* Effect.flip(
          FleetUnits.waitAll(["idle.service", "other.service", "ghost.service"], "launched", {
            timeout: "300 millis",
            interval: "50 millis"
          })
        )
        expect(error._tag).toBe("WaitAllError")
        if (error._tag !== "WaitAllError") return
        expect(error.failures).toEqual([
          {
            unit: "idle.service",
            lastSeen: "currentState inactive, desiredState inactive, no unit state reported"
          },
          {
            unit: "other.service",
            lastSeen: "currentState inactive, desiredState inactive, no unit state reported"
          },
          { unit: "ghost.service", lastSeen: "the unit does not exist" }
        ])
        expect(error.message).toMatch(/^3 of 3 unit\(s\) did not reach launched within/)
      }),
      "off"
    )
  )
})
