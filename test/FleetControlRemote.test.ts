import { spawn } from "node:child_process"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Fleet from "../src/Fleet.ts"
import * as FleetControl from "../src/FleetControl.ts"
import { Machine } from "../src/Machine.ts"
import * as Unit from "../src/Unit.ts"

const repo = path.resolve(import.meta.dirname, "..")
const bin = path.join(repo, "bin", "effect-fleet.js")

interface Served {
  readonly lines: ReadonlyArray<string>
  readonly url: string
  readonly controlUrl: string | undefined
}

/** `effect-fleet serve ARGS` as a child process, until it listens; killed when the scope closes. */
const serve = (...args: ReadonlyArray<string>): Effect.Effect<Served, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ served: Served; kill: () => void }, Error>((resume) => {
      const child = spawn(process.execPath, [bin, "serve", "--port", "0", ...args], {
        cwd: repo,
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString()
        const lines = stdout.split("\n").filter((line) => line !== "")
        const listening = lines.find((line) => line.startsWith("listening on "))
        if (listening === undefined) return
        const control = lines.find((line) => line.startsWith("control on "))
        resume(
          Effect.succeed({
            served: {
              lines,
              url: listening.slice("listening on ".length),
              controlUrl: control?.slice("control on ".length)
            },
            kill: () => child.kill("SIGTERM")
          })
        )
      })
      child.on("exit", (code) => resume(Effect.fail(new Error(`serve exited with ${code}: ${stdout}${stderr}`))))
    }),
    ({ kill }) => Effect.sync(kill)
  ).pipe(Effect.map(({ served }) => served))

const service = new Unit.UnitOption({ section: "Service", name: "ExecStart", value: "/usr/bin/sleep 1d" })
const sleeper = Unit.make({ options: [service] })

describe("FleetControl.layerRemote against an effect-fleet serve process", () => {
  it.live("the startup line says how many machines there are and whether agents run", () =>
    Effect.gen(function* () {
      const defaults = yield* serve()
      expect(defaults.lines[0]).toBe("local fleet: 3 machines, agents simulated")
      expect(defaults.controlUrl).toBeUndefined()
      const one = yield* serve("--machines", "1", "--agents", "off")
      expect(one.lines[0]).toBe("local fleet: 1 machine, agents off (nothing is scheduled)")
    }).pipe(Effect.scoped)
  )

  it.live("drives machines, units, faults and etcd from another process", () =>
    Effect.gen(function* () {
      const served = yield* serve("--control-port", "0")
      expect(served.controlUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      yield* Effect.gen(function* () {
        const control = yield* FleetControl.FleetControl
        const machines = (yield* control.snapshot).machines
        expect(machines).toHaveLength(3)

        const created = yield* Fleet.createUnit("a.service", sleeper)
        expect(created.currentState).toBe("launched")
        const first = created.machineID!
        yield* control.failUnit("a.service")
        const failed = yield* Stream.runCollect(Fleet.listUnitStates({ unitName: "a.service" }))
        expect(failed.map((s) => [s.machineID, s.systemdActiveState, s.systemdSubState])).toEqual([
          [first, "failed", "failed"]
        ])

        yield* control.machineDown(first, { immediately: true })
        const moved = yield* Fleet.getUnit("a.service")
        expect(moved.machineID).not.toBe(first)
        expect(moved.currentState).toBe("launched")
        expect((yield* Stream.runCollect(Fleet.listMachines())).map((m) => m.id)).not.toContain(first)
        yield* control.machineUp(first)
        yield* control.setMachineMetadata(first, { role: "web" })
        const back = (yield* control.snapshot).machines.find((m) => m.id === first)
        expect(back?.metadata).toEqual({ role: "web" })
        yield* control.machineUp(new Machine({ id: "extra", primaryIP: "10.9.9.9" }))
        expect((yield* control.snapshot).machines).toHaveLength(4)

        yield* control.stopUnit("a.service")
        const stopped = yield* Stream.runCollect(Fleet.listUnitStates({ unitName: "a.service" }))
        expect(stopped.map((s) => s.systemdActiveState)).toEqual(["inactive"])

        yield* control.setEtcdUnavailable(true)
        const unavailable = yield* Effect.flip(Fleet.getUnit("a.service"))
        expect(unavailable).toMatchObject({ _tag: "APIError", code: 503 })
        yield* control.setEtcdUnavailable(false)
        yield* control.failNext(1, FleetControl.Fault.Status(502, "<html>Bad Gateway</html>"))
        const badGateway = yield* Effect.flip(Fleet.getUnit("a.service"))
        expect(badGateway).toMatchObject({ code: 502 })

        const log = yield* control.requests
        expect(yield* control.requestCount).toBe(log.length)
        expect(log.slice(-2).map((r) => [r.method, r.url, r.status, r.fault])).toEqual([
          ["GET", "/fleet/v1/units/a.service", 503, undefined],
          ["GET", "/fleet/v1/units/a.service", 502, "Status"]
        ])
        expect(log.filter((r) => r.status === 503)).toHaveLength(1)
        expect(log.find((r) => r.fault === "Status")?.status).toBe(502)
        for (const entry of log) expect(entry.durationMillis).toBeGreaterThanOrEqual(0)

        const unknown = yield* Effect.flip(control.machineDown("nope"))
        expect(unknown.message).toBe("no machine nope")
        const notRunning = yield* Effect.flip(control.failUnit("ghost.service"))
        expect(notRunning.message).toBe("unit ghost.service does not exist")
        const badSeed = yield* Effect.flip(control.seed({ units: [new Unit.Unit({ options: [] })] }))
        expect(badSeed.message).toBe("every seeded unit needs a name")

        yield* control.setAgents("off")
        yield* control.reset
        const empty = yield* control.snapshot
        expect([empty.units.length, empty.machines.length, yield* control.requestCount]).toEqual([0, 0, 0])
        yield* control.seed({ machines: [new Machine({ id: "m1" })] })
        expect((yield* control.snapshot).machines.map((m) => m.id)).toEqual(["m1"])
      }).pipe(Effect.provide(Layer.merge(FleetControl.layerRemote(served.controlUrl!), Fleet.layer(served.url))))
    }).pipe(Effect.scoped)
  )

  it.live("answers unknown routes, wrong methods and bad bodies plainly", () =>
    Effect.gen(function* () {
      const served = yield* serve("--control-port", "0")
      const call = (method: string, route: string, body?: string) =>
        Effect.promise(async () => {
          const response = await fetch(`${served.controlUrl}${route}`, {
            method,
            ...(body === undefined ? {} : { body })
          })
          return [response.status, await response.text()] as const
        })
      expect(yield* call("GET", "/nope")).toEqual([404, '{"error":"no control route /nope"}'])
      expect(yield* call("GET", "/reset")).toEqual([405, '{"error":"use POST for /reset"}'])
      const [status, text] = yield* call("POST", "/faults", '{"count":1,"fault":{"_tag":"Sideways"}}')
      expect(status).toBe(400)
      expect(JSON.parse(text).error).toMatch(/^invalid body: /)
      expect((yield* call("PUT", "/etcd-unavailable", "maybe"))[0]).toBe(400)
      expect(yield* call("POST", "/machines/nope/down")).toEqual([400, '{"error":"no machine nope"}'])
      // a remote control whose server is gone is a defect, not a silent success
      const exit = yield* Effect.exit(FleetControl.makeRemote("http://127.0.0.1:1").reset)
      expect(exit._tag).toBe("Failure")
    }).pipe(Effect.scoped)
  )
})
