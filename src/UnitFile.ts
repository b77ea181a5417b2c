/**
 * Unit files as fleetctl reads them and fleet stores them: go-systemd's parser and serializer, and the unit hash.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { ValueError } from "./FleetError.ts"

/**
 * One option of a unit file, structurally (a `Unit.UnitOption` is one).
 *
 * @since 0.1.0
 * @category models
 */
export interface Option {
  readonly section: string
  readonly name: string
  readonly value: string
}

/** STUB: replaced by the UnitFile implementation. */
export const parse = (_text: string): Effect.Effect<ReadonlyArray<Option>, ValueError> => Effect.succeed([])

/** STUB */
export const serialize = (_options: ReadonlyArray<Option>): string => ""

/** STUB */
export const hash = (_options: ReadonlyArray<Option>): string => ""
