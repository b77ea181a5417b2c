/**
 * `cat`, `version`, `verify`: fleetctl's, message for message.
 *
 * @internal
 */
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Effect from "effect/Effect"
import * as UnitFile from "../../UnitFile.ts"
import { unitNameMangle } from "../fleetctl.ts"
import { withSession } from "../session.ts"

/** The version `effect-fleet version` prints. */
export const version = "0.2.0"

export const cat = Command.make(
  "cat",
  { units: Argument.String("UNIT").pipe(Argument.withDescription("The unit to print"), Argument.variadic()) },
  ({ units }) =>
    withSession((session) =>
      Effect.gen(function* () {
        if (units.length !== 1) {
          session.err("One unit file must be provided")
          return 1
        }
        const name = unitNameMangle(units[0]!)
        const unit = yield* Effect.result(session.fleet.getUnit(name))
        if (unit._tag === "Failure") {
          if (unit.failure._tag === "APIError" && unit.failure.code === 404) {
            session.err(`Unit ${name} not found`)
          } else {
            session.err(`Error retrieving Unit ${name}: ${session.describe(unit.failure)}`)
          }
          return 1
        }
        // The unit file exactly as fleet serializes it: no newline added.
        session.io.stdout(UnitFile.serialize(unit.success.options))
        return 0
      })
    )
).pipe(
  Command.withDescription(
    "Output the contents of a submitted unit: the unit file currently loaded in the cluster, to check that the" +
      " right version of a unit is running."
  ),
  Command.withShortDescription("Output the contents of a submitted unit")
)

export const versionCommand = Command.make("version", {}, () =>
  withSession((session) =>
    Effect.sync(() => {
      session.out(`effect-fleet version ${version}`)
      return 0
    })
  )
).pipe(Command.withDescription("Print the version and exit"))

export const verify = Command.make("verify", { units: Argument.String("UNIT").pipe(Argument.variadic()) }, () =>
  withSession((session) =>
    Effect.sync(() => {
      session.err('Command "verify" is deprecated, DEPRECATED - No longer works')
      session.err("WARNING: The signed/verified units feature is DEPRECATED and cannot be used.")
      return 2
    })
  )
).pipe(Command.withDescription("DEPRECATED - No longer works (signed units were removed from fleet); exits 2"))
