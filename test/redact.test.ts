import { describe, expect, it } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Exit, Layer, Logger } from "effect"
import * as util from "node:util"
import * as Endpoint from "../src/Endpoint.ts"
import * as Fleet from "../src/Fleet.ts"
import * as FleetServer from "../src/FleetServer.ts"
import * as FleetSsh from "../src/FleetSsh.ts"
import * as FleetTransport from "../src/FleetTransport.ts"
import { hasCredentials, redactUrl } from "../src/internal/client/redact.ts"
import { captureSpans } from "./support/tracing.ts"

// Every hostile spelling carries the user "admin" and a password holding "secret" (or the issue's own passwords):
// neither may appear in any rendering.
const hostile: ReadonlyArray<readonly [input: string, shown: string]> = [
  // the two: a password holding "/" (the URL no longer parses) and one holding "@"
  ["http://admin:pa55/word@127.0.0.1:1", "http://***@127.0.0.1:1"],
  ["http://admin:a@tail@host", "http://***@host"],
  ["http://admin:secret@127.0.0.1:1", "http://***@127.0.0.1:1"],
  ["https://admin:secret@host:4001/prefix", "https://***@host:4001/prefix"],
  ["http://admin:se?cr#et@host", "http://***@host"],
  ["http://admin:secret/@/@host", "http://***@host"],
  ["HTTP://admin:secret@host", "HTTP://***@host"],
  ["http:/admin:secret@host", "http:/***@host"],
  ["http:\\\\admin:secret@host", "http:\\\\***@host"],
  ["http:admin:secret@host", "***@host"],
  ["admin:secret@host:4001", "***@host:4001"],
  ["ftp://admin:secret@host", "ftp://***@host"],
  [" http://admin:secret@host", "***@host"],
  ["http://admin:sec ret@host", "http://***@host"],
  ["http://admin:sec\nret@host", "http://***@host"],
  ["http://admin:pa%40secret@host", "http://***@host"],
  ["http://admin:secret\uFF20host", "http://***\uFF20host"],
  ["http://admin:secret@", "http://***@"],
  ["unix://admin:secret@/var/run/fleet.sock", "unix://***@/var/run/fleet.sock"],
  ["http+unix://admin:secret@%2Fvar%2Frun%2Ffleet.sock", "http+unix://***@%2Fvar%2Frun%2Ffleet.sock"]
]

const secrets = /admin|secret|sec\nret|sec ret|se\?cr|pa55|a@tail/

/** Every way an error or a cause is commonly turned into text. */
const renderings = (value: unknown): ReadonlyArray<string> => {
  const texts = [
    String(value),
    JSON.stringify(value) ?? "",
    util.inspect(value),
    util.inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
    util.format("%s %o %j", value, value, value)
  ]
  if (value instanceof Error) texts.push(value.message, value.stack ?? "")
  if (Cause.isCause(value)) texts.push(Cause.pretty(value), ...value.reasons.flatMap((r) => renderings(r)))
  return texts
}

const expectClean = (value: unknown, label: string) => {
  for (const text of renderings(value)) expect(text, `${label}: ${text}`).not.toMatch(secrets)
}

describe("redactUrl", () => {
  for (const [input, shown] of hostile) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(shown)}`, () => {
      expect(redactUrl(input)).toBe(shown)
      expect(hasCredentials(input)).toBe(true)
    })
  }

  it("leaves URLs without an @ alone, and over-redacts a path holding one", () => {
    expect(redactUrl("http://127.0.0.1:49153/fleet-proxy")).toBe("http://127.0.0.1:49153/fleet-proxy")
    expect(redactUrl("unix:///var/run/fleet.sock")).toBe("unix:///var/run/fleet.sock")
    expect(redactUrl("")).toBe("")
    expect(redactUrl("http://host/p@x")).toBe("http://***@x")
    expect(hasCredentials("http://host/p@x")).toBe(false)
    expect(hasCredentials("http://127.0.0.1:1")).toBe(false)
  })
})

describe("credentials in an endpoint never leak", () => {
  for (const [input, shown] of hostile) {
    it.effect(`Endpoint.parse and Fleet.layer refuse ${JSON.stringify(input)} with clean renderings`, () =>
      Effect.gen(function* () {
        const parsed = yield* Effect.flip(Endpoint.parse(input))
        expect(parsed._tag).toBe("ValueError")
        expect(parsed.message).toContain(`Invalid fleet endpoint ${shown}: `)
        expectClean(parsed, "Endpoint.parse")

        const exit = yield* Effect.exit(Effect.scoped(Layer.build(Fleet.layer(input))))
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          expect(Cause.squash(exit.cause)).toMatchObject({ _tag: "ValueError", message: parsed.message })
          expectClean(exit.cause, "Fleet.layer")
        }
        expectClean(exit, "Fleet.layer exit")
      })
    )
  }

  it.effect("a password holding / or @ is refused for what it is, not as an invalid URL", () =>
    Effect.gen(function* () {
      for (const input of ["http://admin:pa55/word@127.0.0.1:1", "http://admin:a@tail@host"]) {
        const error = yield* Effect.flip(Endpoint.parse(input))
        expect(error.message).toMatch(/credentials in the URL are not supported$/)
      }
    })
  )

  it.effect("FLEETCTL_ENDPOINT: the ConfigError of Fleet.layerConfig is clean", () =>
    Effect.gen(function* () {
      for (const [input, shown] of hostile) {
        const exit = yield* Effect.exit(Effect.scoped(Layer.build(Fleet.layerConfig()))).pipe(
          Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ FLEETCTL_ENDPOINT: input })))
        )
        expect(Exit.isFailure(exit), input).toBe(true)
        if (Exit.isFailure(exit)) {
          const error = Cause.squash(exit.cause)
          expect(error, input).toMatchObject({ _tag: "ConfigError" })
          expect(String(error), input).toContain(shown)
          expectClean(exit.cause, `layerConfig ${input}`)
        }
      }
    })
  )

  it.effect("logged with Effect's loggers (simple, logfmt, JSON, structured), the failure is clean", () =>
    Effect.gen(function* () {
      const lines: Array<string> = []
      const collect = Logger.make((options) => {
        lines.push(
          Logger.formatSimple.log(options),
          Logger.formatLogFmt.log(options),
          Logger.formatJson.log(options),
          JSON.stringify(Logger.formatStructured.log(options))
        )
      })
      for (const [input] of hostile) {
        yield* Effect.scoped(Layer.build(Fleet.layer(input))).pipe(
          Effect.tapCause((cause) => Effect.logError("fleet layer failed", cause)),
          Effect.ignore,
          Effect.provide(Logger.layer([collect]))
        )
      }
      expect(lines).toHaveLength(hostile.length * 4)
      for (const line of lines) expect(line).not.toMatch(secrets)
      expect(lines.join("\n")).toContain("Invalid fleet endpoint http://***@127.0.0.1:1")
    })
  )

  it.effect("no span attribute, event or exit of a failed layer holds them", () =>
    Effect.gen(function* () {
      const { spans, tracer } = captureSpans()
      for (const [input] of hostile) {
        yield* Effect.scoped(Layer.build(Fleet.layer(input))).pipe(
          Effect.withSpan("build"),
          Effect.ignore,
          Effect.withTracer(tracer)
        )
      }
      expect(spans.length).toBeGreaterThanOrEqual(hostile.length)
      for (const span of spans) {
        expect(util.inspect([...span.attributes], { depth: 10 })).not.toMatch(secrets)
        expect(util.inspect(span.events, { depth: 10 })).not.toMatch(secrets)
        expect(util.inspect(span.status, { depth: 10 })).not.toMatch(secrets)
      }
    })
  )

  it.live("Fleet.layerHttpClient refuses a base URL with credentials, probing or not", () =>
    Effect.gen(function* () {
      for (const [input, shown] of hostile.filter(([input]) => /^https?:\/\//.test(input))) {
        for (const probe of [true, false]) {
          const layer = Fleet.layerHttpClient({ baseUrl: input, probe }).pipe(Layer.provide(FleetTransport.layerTcp()))
          const exit = yield* Effect.exit(Effect.scoped(Layer.build(layer)))
          expect(Exit.isFailure(exit), input).toBe(true)
          if (Exit.isFailure(exit)) {
            const error = Cause.squash(exit.cause)
            expect(error).toMatchObject({
              _tag: "ValueError",
              message: `Invalid fleet base URL ${shown}: credentials in the URL are not supported`
            })
            expectClean(exit.cause, `layerHttpClient ${input}`)
          }
        }
      }
    })
  )

  it.live("Fleet.probe names the endpoint without its credentials, reachable or not", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0 })
      const port = server.port!
      const errors = yield* Effect.forEach(
        [
          // a password with "/" leaves an invalid URL; the others reach a closed port
          ["http://127.0.0.1:1", "http://admin:pa55/word@127.0.0.1:1"],
          ["http://127.0.0.1:1", "http://admin:a@tail@127.0.0.1:1"],
          // reachable, but its discovery path answers 404: "not a fleet v1 API endpoint"
          [`http://127.0.0.1:${port}/not-fleet`, `http://admin:secret@127.0.0.1:${port}/not-fleet`]
        ] as const,
        ([baseUrl, endpoint]) =>
          Effect.flip(Fleet.probe(baseUrl, endpoint, "2 seconds")).pipe(Effect.provide(FleetTransport.layerTcp()))
      )
      expect(errors.map((e) => e.message)).toEqual([
        "Unable to connect to endpoint http://***@127.0.0.1:1: connection refused (ECONNREFUSED)",
        "Unable to connect to endpoint http://***@127.0.0.1:1: connection refused (ECONNREFUSED)",
        `Connected to endpoint http://***@127.0.0.1:${port}/not-fleet but it is not a fleet v1 API endpoint`
      ])
      for (const error of errors) expectClean(error, "probe")
    })
  )

  it.effect("an SSH tunnel address with a user or password is refused, shown as ***", () =>
    Effect.gen(function* () {
      const endpoint = yield* Endpoint.parse("unix:///var/run/fleet.sock")
      const cases = [
        ["admin:secret@10.0.0.5", "***@10.0.0.5"],
        ["admin:secret@10.0.0.5:22", "***@10.0.0.5:22"],
        ["admin:pa55/word@[::1]:22", "***@[::1]:22"],
        ["admin:a@tail@host", "***@host"],
        ["admin@host", "***@host"]
      ] as const
      for (const [tunnel, shown] of cases) {
        const direct = yield* Effect.flip(Effect.scoped(Layer.build(FleetSsh.layer({ tunnel, endpoint }))))
        const viaFleet = yield* Effect.flip(
          Effect.scoped(Layer.build(Fleet.layer("unix:///var/run/fleet.sock", { sshTunnel: tunnel })))
        )
        const viaConfig = yield* Effect.flip(Effect.scoped(Layer.build(Fleet.layerConfig()))).pipe(
          Effect.provide(
            ConfigProvider.layer(
              ConfigProvider.fromUnknown({ FLEETCTL_ENDPOINT: "unix:///var/run/fleet.sock", FLEETCTL_TUNNEL: tunnel })
            )
          )
        )
        for (const error of [direct, viaFleet, viaConfig]) {
          expect(error).toMatchObject({
            _tag: "ValueError",
            message: `Invalid SSH tunnel ${shown}: a user or password in the address is not supported (set the username option)`
          })
          expectClean(error, tunnel)
        }
      }
    })
  )
})
