/**
 * Exporting the client's spans with Effect's own tracer API, no OpenTelemetry needed: a `Tracer` whose spans print
 * themselves when they end. Every operation (`Fleet.getUnit`, `Fleet.createUnit`, ...) is a span carrying
 * `http.request.method`, `url.path`, `http.response.status_code` and `fleet.retries`. `Fleet.layer` sends on the
 * transport directly, so there is no HTTP span under it; over `Fleet.layerHttpClient`, your `HttpClient` adds its own.
 *
 * Run it with `npm run example:tracing`: it starts a local fleet server, makes fleet answer 503 twice, and shows
 * the retries in the spans. To send spans to an OpenTelemetry collector instead, provide the tracer of
 * `@effect/opentelemetry` in place of `consoleTracer`; nothing else changes.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Exit, Layer, Option, Stream, Tracer } from "effect"
import { Fleet, FleetControl, FleetServer, Machine, Unit } from "effect-fleet"

/** A span that writes one line when it ends: its name, duration, outcome, parent and attributes. */
class ConsoleSpan extends Tracer.NativeSpan {
  override end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    super.end(endTime, exit)
    const millis = Number(endTime - this.startTime) / 1_000_000
    const parent = Option.match(this.parent, { onNone: () => "", onSome: (p) => ` parent=${p.spanId}` })
    const attributes = [...this.attributes].map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(" ")
    const outcome = Exit.isSuccess(exit) ? "ok" : "failed"
    process.stdout.write(
      `span ${this.name} ${millis.toFixed(1)}ms ${outcome} id=${this.spanId}${parent}${attributes ? ` ${attributes}` : ""}\n`
    )
  }
}

/** The tracer: every span Effect starts is a {@link ConsoleSpan}. */
export const consoleTracer: Tracer.Tracer = Tracer.make({
  span: (options) => new ConsoleSpan(options)
})

const program = Effect.gen(function* () {
  const control = yield* FleetControl.FleetControl
  yield* Fleet.createUnit(
    "hello.service",
    Unit.make({ options: [new Unit.UnitOption({ section: "Service", name: "ExecStart", value: "/bin/sleep 1d" })] })
  )
  // fleet loses etcd for two requests: the retry schedule rides it out, and the span says how many retries it took.
  yield* control.failNext(2, FleetControl.Fault.Unavailable)
  yield* Fleet.getUnit("hello.service")
  yield* Fleet.listUnits().pipe(Stream.runDrain)
  yield* Fleet.getUnit("missing.service").pipe(Effect.ignore)
  yield* Fleet.destroyUnit("hello.service")
})

const LocalFleet = Layer.unwrap(
  Effect.gen(function* () {
    const server = yield* FleetServer.FleetServer
    return Fleet.layer(server.url, { retry: Fleet.makeRetrySchedule({ base: "20 millis" }) })
  })
).pipe(Layer.provideMerge(FleetServer.layer({ port: 0, seed: { machines: [new Machine.Machine({ id: "m1" })] } })))

program.pipe(Effect.provide(LocalFleet), Effect.withTracer(consoleTracer), NodeRuntime.runMain)
