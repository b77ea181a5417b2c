/**
 * Unit files as fleetctl reads them and fleet stores them: go-systemd's parser and serializer, and the unit hash.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { ValueError } from "./FleetError.ts"
import { lex } from "./internal/unitFileLexer.ts"

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

/**
 * Parses a unit file exactly as go-systemd's deserializer does (and so as fleetctl and fleet do), returning the
 * result synchronously. A malformed file is a `Failure` holding a `ValueError` with go-systemd's own message, such as
 * `unable to find end of section` or `line too long (max 2048 bytes)`. It never throws.
 *
 * @example
 * ```ts
 * import { Result } from "effect"
 * import { UnitFile } from "effect-fleet"
 *
 * const result = UnitFile.parseResult("[Service]\nExecStart=/usr/bin/sleep 1d\n")
 * Result.isSuccess(result) // true
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseResult = (text: string): Result.Result<ReadonlyArray<Option>, ValueError> => {
  const lexed = lex(text)
  return lexed._tag === "Success"
    ? Result.succeed(lexed.options)
    : Result.fail(new ValueError({ message: lexed.message }))
}

/**
 * Parses a unit file exactly as go-systemd's deserializer does: `#` and `;` comment lines, `[Section]` headers,
 * trimmed names and values, `\` continuations (kept in the value, with a newline), duplicates kept in order, lines
 * outside any section ignored. A malformed file fails with `ValueError` carrying go-systemd's message.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { UnitFile } from "effect-fleet"
 *
 * const options = Effect.runSync(UnitFile.parse("[Service]\nExecStart=/usr/bin/sleep 1d\n"))
 * // [{ section: "Service", name: "ExecStart", value: "/usr/bin/sleep 1d" }]
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (text: string): Effect.Effect<ReadonlyArray<Option>, ValueError> =>
  Effect.suspend(() => Effect.fromResult(parseResult(text)))

/**
 * Renders options as go-systemd serializes them: sections in the order they first appear, each a `[Section]` line
 * followed by one `Name=Value` line per option in order, a blank line between sections. No options gives `""`.
 *
 * @example
 * ```ts
 * import { UnitFile } from "effect-fleet"
 *
 * UnitFile.serialize([
 *   { section: "Unit", name: "Description", value: "sleepy" },
 *   { section: "Service", name: "ExecStart", value: "/usr/bin/sleep 1d" }
 * ])
 * // "[Unit]\nDescription=sleepy\n\n[Service]\nExecStart=/usr/bin/sleep 1d\n"
 * ```
 *
 * @since 0.1.0
 * @category serialization
 */
export const serialize = (options: ReadonlyArray<Option>): string => {
  const sections = new Map<string, Array<Option>>()
  for (const option of options) {
    const section = sections.get(option.section)
    if (section === undefined) sections.set(option.section, [option])
    else section.push(option)
  }
  const rendered: Array<string> = []
  for (const [name, sectionOptions] of sections) {
    let text = `[${name}]\n`
    for (const option of sectionOptions) text += `${option.name}=${option.value}\n`
    rendered.push(text)
  }
  return rendered.join("\n")
}

/**
 * The hash fleet gives a unit (the `hash` of its `UnitState`s): lowercase hex SHA-1 of {@link serialize}.
 *
 * @example
 * ```ts
 * import { UnitFile } from "effect-fleet"
 *
 * UnitFile.hash([]) // "da39a3ee5e6b4b0d3255bfef95601890afd80709"
 * ```
 *
 * @since 0.1.0
 * @category serialization
 */
export const hash = (options: ReadonlyArray<Option>): string =>
  createHash("sha1").update(serialize(options), "utf8").digest("hex")

/**
 * What fleet stores for these options and hands back on `GET`: the options serialized to a unit file and parsed
 * again. Options come back grouped by section in first-seen order, names and values trimmed, and a value ending in
 * `\` swallows the line after it (or keeps a trailing newline when a blank line or the end follows). An option with
 * an empty value survives the trip (fleet then leaves `value` out of its JSON).
 *
 * Options whose unit file does not parse (a line of 2048 bytes or more, a name holding a newline, a section name
 * holding `]`) give a `Failure` with go-systemd's message: fleet refuses such units at creation with a `400` carrying
 * that message.
 *
 * @example
 * ```ts
 * import { Result } from "effect"
 * import { UnitFile } from "effect-fleet"
 *
 * UnitFile.roundTrip([{ section: "Service", name: " ExecStart ", value: " /usr/bin/sleep 1d " }])
 * // Result.succeed([{ section: "Service", name: "ExecStart", value: "/usr/bin/sleep 1d" }])
 * ```
 *
 * @since 0.1.0
 * @category serialization
 */
export const roundTrip = (options: ReadonlyArray<Option>): Result.Result<ReadonlyArray<Option>, ValueError> =>
  parseResult(serialize(options))
