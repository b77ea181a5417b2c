/**
 * From a command-line argument to a unit, as fleetctl finds it: the unit's name, its template, the local unit file
 * or the template's (local or already in the cluster), and the warning fleetctl prints when the local file differs
 * from the cluster's.
 *
 * @since 0.2.0
 * @internal
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Fleet from "../../../Fleet.ts"
import { type DesiredState, Unit, UnitOption } from "../../../Unit.ts"
import * as UnitFile from "../../../UnitFile.ts"
import { describeWith, getUnitOrUndefined, type Options, report, UnitsError } from "./model.ts"

const recognizedTypes = ["service", "socket", "timer", "path", "device", "mount", "automount"]

/**
 * fleetctl's `maybeAppendDefaultUnitType`: a name with no recognized unit type gets `.service`.
 *
 * @since 0.2.0
 * @internal
 */
export const withDefaultType = (arg: string): string =>
  recognizedTypes.some((type) => arg.endsWith(`.${type}`)) ? arg : `${arg}.service`

/**
 * `FleetUnits.unitName`: the base name of a path, completed with `.service`.
 *
 * @since 0.2.0
 * @internal
 */
export const unitName = (arg: string): string => withDefaultType(nodePath.posix.basename(arg) || arg)

/**
 * `FleetUnits.templateOf`: the template of an instance name, or `undefined`.
 *
 * @since 0.2.0
 * @internal
 */
export const templateOf = (name: string): string | undefined => {
  const dot = name.lastIndexOf(".")
  if (dot === -1) return undefined
  const base = name.slice(0, dot)
  const at = base.indexOf("@")
  if (at === -1 || at === base.length - 1) return undefined
  return `${base.slice(0, at)}@${name.slice(dot)}`
}

const readLocal = (file: string): Effect.Effect<ReadonlyArray<UnitFile.Option>, string> =>
  Effect.suspend(() => {
    let text: string
    try {
      text = fs.readFileSync(file, "utf8")
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code
      return Effect.fail(
        `open ${file}: ${code === "ENOENT" ? "no such file or directory" : code === "EISDIR" ? "is a directory" : String(cause)}`
      )
    }
    return Effect.mapError(UnitFile.parse(text), (error) => error.message)
  })

const exists = (file: string): boolean => {
  try {
    fs.statSync(file)
    return true
  } catch (cause) {
    // fleetctl tests os.IsNotExist: any other stat failure counts as "there".
    return (cause as NodeJS.ErrnoException).code !== "ENOENT"
  }
}

const toUnit = (options: ReadonlyArray<UnitFile.Option>, desiredState: DesiredState = "inactive"): Unit =>
  new Unit({ options: options.map((o) => new UnitOption(o)), desiredState })

/**
 * Where a unit file argument is read from: relative to `options.cwd` when one is given.
 *
 * @since 0.2.0
 * @internal
 */
export const resolvePath = (file: string, options: Options): string =>
  options.cwd === undefined || nodePath.isAbsolute(file) ? file : nodePath.join(options.cwd, file)

/**
 * `FleetUnits.instantiate`: an instance's unit made from its template, in the cluster or next to `file`.
 *
 * @since 0.2.0
 * @internal
 */
export const instantiate = (file: string, options: Options = {}): Effect.Effect<Unit, UnitsError, Fleet.Fleet> =>
  Effect.gen(function* () {
    const fleet = yield* Fleet.Fleet
    const describe = describeWith(options)
    const name = unitName(file)
    const template = templateOf(name)
    const fail = (message: string) => new UnitsError({ stage: "create", message })
    if (template === undefined) return yield* fail(`error Unit ${file} does not seem to be a template unit`)
    const path = resolvePath(file, options)
    const inCluster = yield* getUnitOrUndefined(fleet, template).pipe(
      Effect.mapError((error) => fail(`error retrieving template Unit(${template}) from Registry: ${describe(error)}`))
    )
    if (inCluster !== undefined) {
      yield* warnIfDifferent(path, file, inCluster, template, options)
      return toUnit(inCluster.options)
    }
    const local = nodePath.join(nodePath.dirname(path), template)
    if (!exists(local)) return yield* fail(`unable to find template Unit(${template}) in Registry or on filesystem`)
    const read = yield* Effect.mapError(readLocal(local), (why) =>
      fail(`unable to load template Unit(${template}) from file: ${why}`)
    )
    return toUnit(read)
  })

// fleetctl's isLocalUnitDifferent: compares by hash with the local file, else (an instance) with the local template.
const localDifference = (
  path: string,
  file: string,
  unit: Unit
): Effect.Effect<{ readonly different: boolean; readonly template: boolean } | undefined> =>
  Effect.gen(function* () {
    const clusterHash = UnitFile.hash(unit.options)
    if (exists(path)) {
      const local = yield* Effect.option(readLocal(path))
      if (local._tag === "None") return undefined
      return { different: UnitFile.hash(local.value) !== clusterHash, template: false }
    }
    const template = templateOf(nodePath.posix.basename(file))
    if (template === undefined) return undefined
    const templatePath = nodePath.join(nodePath.dirname(path), template)
    if (!exists(templatePath)) return undefined
    const local = yield* Effect.option(readLocal(templatePath))
    if (local._tag === "None") return undefined
    return { different: UnitFile.hash(local.value) !== clusterHash, template: true }
  })

/**
 * fleetctl's check of a unit already in the cluster against the local file (or the local template): reports a
 * `Warning` when they differ and `replace` is off, and returns the comparison (`undefined`: nothing local to compare).
 *
 * @since 0.2.0
 * @internal
 */
export const warnIfDifferent = (
  path: string,
  file: string,
  unit: Unit,
  name: string,
  options: Options
): Effect.Effect<{ readonly different: boolean; readonly template: boolean } | undefined> =>
  Effect.gen(function* () {
    const difference = yield* localDifference(path, file, unit)
    if (difference === undefined || !difference.different || options.replace === true) return difference
    yield* report(options, {
      _tag: "Warning",
      message: difference.template
        ? `WARNING: Unit ${name} in registry differs from local template unit file ${file}. Add --replace to override.`
        : `WARNING: Unit ${name} in registry differs from local unit file ${file}. Add --replace to override.`
    })
    return difference
  })

/**
 * `FleetUnits.resolveUnitFile`: fleetctl's `getUnitFile`, the local file or the instance of its template.
 *
 * @since 0.2.0
 * @internal
 */
export const resolveUnitFile = (file: string, options: Options = {}): Effect.Effect<Unit, UnitsError, Fleet.Fleet> =>
  Effect.gen(function* () {
    const name = unitName(file)
    const path = resolvePath(file, options)
    const fail = (message: string) => new UnitsError({ stage: "create", message })
    if (exists(path)) {
      const read = yield* Effect.mapError(readLocal(path), (why) =>
        fail(`failed getting Unit(${file}) from file: ${why}`)
      )
      return toUnit(read)
    }
    if (templateOf(name) === undefined) {
      return yield* fail(`unable to find Unit(${name}) in Registry or on filesystem`)
    }
    return yield* instantiate(file, options).pipe(
      Effect.mapError((error) => fail(`failed getting Unit(${file}) from template: ${error.message}`))
    )
  })
