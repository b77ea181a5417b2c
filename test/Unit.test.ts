import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Equal, pipe, Schema } from "effect"
import { ValueError } from "../src/FleetError.ts"
import * as Unit from "../src/Unit.ts"

const option = (section: string, name: string, value: string) => new Unit.UnitOption({ section, name, value })

const sample = Unit.make({
  options: [
    option("Unit", "Description", "sleepy"),
    option("Service", "ExecStart", "/usr/bin/sleep 1d"),
    option("Service", "ExecStart", "/usr/bin/sleep 2d"),
    option("X-Fleet", "Global", "true")
  ]
})

describe("Unit.make", () => {
  it("defaults to launched with no options, like python-fleet's Unit()", () => {
    const unit = Unit.make()
    expect(unit.desiredState).toBe("launched")
    expect(unit.options).toEqual([])
    expect(unit.name).toBeUndefined()
    expect(unit.currentState).toBeUndefined()
    expect(unit.machineID).toBeUndefined()
  })

  it("takes a desired state and options", () => {
    const unit = Unit.make({ desiredState: "inactive", options: [option("Service", "ExecStart", "/bin/true")] })
    expect(unit.desiredState).toBe("inactive")
    expect(unit.options).toEqual([option("Service", "ExecStart", "/bin/true")])
  })
})

describe("Unit.fromString", () => {
  it.effect("parses a unit file into options, launched by default", () =>
    Effect.gen(function* () {
      const unit = yield* Unit.fromString("[Unit]\nDescription=sleepy\n\n[Service]\nExecStart=/usr/bin/sleep 1d\n")
      expect(unit.desiredState).toBe("launched")
      expect(unit.options).toEqual([
        option("Unit", "Description", "sleepy"),
        option("Service", "ExecStart", "/usr/bin/sleep 1d")
      ])
      expect(unit.options[0]).toBeInstanceOf(Unit.UnitOption)
      const loaded = yield* Unit.fromString("[Service]\nExecStart=/bin/true\n", "loaded")
      expect(loaded.desiredState).toBe("loaded")
    })
  )

  it.effect("keeps a continued value as go-systemd does", () =>
    Effect.gen(function* () {
      const unit = yield* Unit.fromString("[Service]\nExecStart=/bin/sh -c \\\n  'sleep 1d'\n")
      expect(unit.options).toEqual([option("Service", "ExecStart", "/bin/sh -c \\\n  'sleep 1d'")])
    })
  )

  it.effect("fails with ValueError on a malformed file", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Unit.fromString("[Service\nExecStart=/bin/true\n"))
      expect(error).toBeInstanceOf(ValueError)
      expect(error.message).toBe("unable to find end of section")
      const noEquals = yield* Effect.flip(Unit.fromString("[Service]\nExecStart\n"))
      expect(noEquals.message).toBe("unexpected newline encountered while parsing option name")
    })
  )
})

describe("Unit.fromFile", () => {
  it.effect("reads and parses a unit file from disk", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.acquireRelease(
        Effect.promise(() => mkdtemp(join(tmpdir(), "effect-fleet-unit-"))),
        (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
      )
      const path = join(dir, "sleepy.service")
      yield* Effect.promise(() =>
        writeFile(path, "[Unit]\r\nDescription=sleepy\r\n[Service]\r\nExecStart=/bin/true\r\n")
      )
      const unit = yield* Unit.fromFile(path, "inactive")
      expect(unit.desiredState).toBe("inactive")
      expect(unit.options).toEqual([
        option("Unit", "Description", "sleepy"),
        option("Service", "ExecStart", "/bin/true")
      ])
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.effect("fails with ValueError on a missing file", () =>
    Effect.gen(function* () {
      const path = join(tmpdir(), "effect-fleet-no-such-dir", "missing.service")
      const error = yield* Effect.flip(Unit.fromFile(path))
      expect(error).toBeInstanceOf(ValueError)
      expect(error.message.startsWith(`Unable to read unit file ${path}: `)).toBe(true)
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.effect("fails with ValueError on a malformed file", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.acquireRelease(
        Effect.promise(() => mkdtemp(join(tmpdir(), "effect-fleet-unit-"))),
        (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
      )
      const path = join(dir, "bad.service")
      yield* Effect.promise(() => writeFile(path, "[Service] junk\n"))
      const error = yield* Effect.flip(Unit.fromFile(path))
      expect(error.message).toBe("found garbage after section name : [106 117 110 107]")
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )
})

describe("Unit.addOption and Unit.removeOption", () => {
  it("adds an option at the end without touching the original", () => {
    const base = Unit.make()
    const unit = pipe(base, Unit.addOption("Service", "ExecStart", "/bin/true"), Unit.addOption("Unit", "After", "a"))
    expect(unit.options).toEqual([option("Service", "ExecStart", "/bin/true"), option("Unit", "After", "a")])
    expect(base.options).toEqual([])
    expect(Unit.addOption(base, "Unit", "Before", "b").options).toEqual([option("Unit", "Before", "b")])
  })

  it("removes every option matching section and name when no value is given", () => {
    const unit = pipe(sample, Unit.removeOption("Service", "ExecStart"))
    expect(unit.options).toEqual([option("Unit", "Description", "sleepy"), option("X-Fleet", "Global", "true")])
    expect(unit.desiredState).toBe(sample.desiredState)
  })

  it("removes only the options with the given value", () => {
    const unit = Unit.removeOption(sample, "Service", "ExecStart", "/usr/bin/sleep 2d")
    expect(unit.options).toEqual([
      option("Unit", "Description", "sleepy"),
      option("Service", "ExecStart", "/usr/bin/sleep 1d"),
      option("X-Fleet", "Global", "true")
    ])
  })

  it("returns the same unit when nothing matched", () => {
    expect(Unit.removeOption(sample, "Service", "ExecStop")).toBe(sample)
    expect(Unit.removeOption(sample, "Unit", "ExecStart")).toBe(sample)
    expect(pipe(sample, Unit.removeOption("Service", "ExecStart", "/usr/bin/sleep 3d"))).toBe(sample)
  })
})

describe("Unit.decodeDesiredState", () => {
  it.effect("accepts fleet's three states", () =>
    Effect.gen(function* () {
      for (const state of Unit.desiredStates) expect(yield* Unit.decodeDesiredState(state)).toBe(state)
      expect(Unit.desiredStates).toEqual(["inactive", "loaded", "launched"])
    })
  )

  it.effect("refuses anything else with python-fleet's message", () =>
    Effect.gen(function* () {
      for (const state of ["running", "Launched", ""]) {
        const error = yield* Effect.flip(Unit.decodeDesiredState(state))
        expect(error).toBeInstanceOf(ValueError)
        expect(error.message).toBe("state must be one of: ['inactive', 'loaded', 'launched']")
      }
    })
  )
})

describe("Unit equality and hashing", () => {
  it("compares units structurally", () => {
    const same = Unit.make({
      options: sample.options.map((o) => new Unit.UnitOption({ section: o.section, name: o.name, value: o.value }))
    })
    expect(Equal.equals(sample, same)).toBe(true)
    expect(Equal.equals(sample, Unit.withDesiredState(same, "loaded"))).toBe(false)
    expect(Equal.equals(sample, Unit.addOption(same, "Unit", "After", "a"))).toBe(false)
    expect(Equal.equals(option("S", "N", "V"), option("S", "N", "V"))).toBe(true)
    expect(Equal.equals(option("S", "N", "V"), option("S", "N", "W"))).toBe(false)
  })

  it("renders and hashes its unit file", () => {
    const unit = Unit.make({
      options: [option("Unit", "Description", "sleepy"), option("Service", "ExecStart", "/usr/bin/sleep 1d")]
    })
    expect(Unit.toUnitFile(unit)).toBe("[Unit]\nDescription=sleepy\n\n[Service]\nExecStart=/usr/bin/sleep 1d\n")
    // printf '[Unit]\nDescription=sleepy\n\n[Service]\nExecStart=/usr/bin/sleep 1d\n' | sha1sum
    expect(Unit.hash(unit)).toBe("4f90c2d11008d579df9c6ac726338b0922c7a3d3")
  })
})

describe("decoding fleet's JSON", () => {
  const decode = Schema.decodeUnknownEffect(Unit.Unit)

  it.effect("decodes a full unit and ignores unknown fields", () =>
    Effect.gen(function* () {
      const unit = yield* decode({
        name: "web@1.service",
        options: [{ section: "Service", name: "ExecStart", value: "/bin/true", extra: 1 }],
        desiredState: "launched",
        currentState: "loaded",
        machineID: "2c3b2e0b",
        somethingNew: { nested: true }
      })
      expect(unit).toBeInstanceOf(Unit.Unit)
      expect(unit.name).toBe("web@1.service")
      expect(unit.currentState).toBe("loaded")
      expect(unit.machineID).toBe("2c3b2e0b")
      expect(unit.options).toEqual([option("Service", "ExecStart", "/bin/true")])
      expect("somethingNew" in unit).toBe(false)
    })
  )

  it.effect("decodes a unit whose fields fleet left out", () =>
    Effect.gen(function* () {
      const unit = yield* decode({ name: "a.service", desiredState: "inactive" })
      expect(unit.options).toEqual([])
      expect(unit.currentState).toBeUndefined()
      expect(unit.machineID).toBeUndefined()
      // fleet's `omitempty` drops an empty value (or name) from an option.
      const emptyValue = yield* decode({ name: "a.service", options: [{ section: "Service", name: "Environment" }] })
      expect(emptyValue.options).toEqual([option("Service", "Environment", "")])
      expect(Equal.equals(yield* decode({}), new Unit.Unit({ options: [] }))).toBe(true)
    })
  )

  it.effect("refuses a desired state fleet does not know", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(decode({ name: "a.service", desiredState: "running" }))
      expect(error._tag).toBe("SchemaError")
    })
  )
})
