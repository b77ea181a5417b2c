// effect-fleet adapter for the side-by-side perf harness (../shared/perf/, "Adding a client"), on the BUILT
// library: `npm run build` first (`npm run bench:peers` does). It mirrors the harness's raw undici adapter:
//
//   node bench/peer-adapter.mjs SERVER_URL WORKLOAD
//
// and prints one JSON line {"client":"effect-fleet","workload","seconds","items", ...extras} (the client is
// "effect-fleet-traced" with EFFECT_FLEET_TRACED=1: a tracer installed, see bench/peers/effect-fleet-traced.sh);
// extras: cpu_seconds (process.cpuUsage over the timed region, all threads), import_seconds (loading effect-fleet
// and the Effect modules it is used with, the way a user's program does: deep imports, `effect-fleet/Fleet` through
// the package's exports), construct_seconds (`first`: building the layer, discovery probe included).
//
// Workloads (the timed region is exactly what "seconds" covers):
//   list       layer built first (untimed: new pool + discovery probe), then Stream.runCollect(Fleet.listUnits())
//   get        layer built first (untimed), then Fleet.getUnit(name) for the first $PERF_GET_N names of
//              $PERF_NAMES_FILE, one after the other (one Effect.reduce counting the right units, in one runPromise)
//   first      build the layer (discovery probe, like python-fleet's Client(url)) + Stream.runHead(Fleet.listUnits())
//   list-warm  like list, but the same listing runs once untimed first in the same process (JIT warm)
//   get-warm   like get, but the same gets run once untimed first in the same process
import { readFileSync } from "node:fs"

const traced = process.env.EFFECT_FLEET_TRACED === "1"
const tImport = performance.now()
const [Effect, ManagedRuntime, Option, Stream, Fleet, Layer, Tracer] = await Promise.all([
  import("effect/Effect"),
  import("effect/ManagedRuntime"),
  import("effect/Option"),
  import("effect/Stream"),
  import("effect-fleet/Fleet"),
  traced ? import("effect/Layer") : undefined,
  traced ? import("effect/Tracer") : undefined
])
const importSeconds = (performance.now() - tImport) / 1000
// EFFECT_FLEET_TRACED=1 (bench/peers/effect-fleet-traced.sh): a tracer that builds native spans and keeps none
const withTracer = (layer) =>
  traced
    ? Layer.merge(
        layer,
        Layer.succeed(Tracer.Tracer)(Tracer.make({ span: (options) => new Tracer.NativeSpan(options) }))
      )
    : layer

const [serverUrl, workload] = process.argv.slice(2)

const doList = (runtime) => runtime.runPromise(Stream.runCollect(Fleet.listUnits()))

const doGet = (runtime, names) =>
  runtime.runPromise(
    Effect.reduce(
      names,
      () => 0,
      (ok, name) => Effect.map(Fleet.getUnit(name), (unit) => (unit.name === name ? ok + 1 : ok))
    )
  )

const timed = async (out, fn) => {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const result = await fn()
  out.seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(c0)
  out.cpu_seconds = (cpu.user + cpu.system) / 1e6
  out.items = Array.isArray(result) ? result.length : result // a listing is counted after the clock stops
}

/** A runtime holding a built `Fleet.layer`: the pool is open and the discovery probe answered. */
const built = async () => {
  const runtime = ManagedRuntime.make(withTracer(Fleet.layer(serverUrl)))
  await runtime.context()
  return runtime
}

const out = { client: traced ? "effect-fleet-traced" : "effect-fleet", workload }
if (workload === "list" || workload === "list-warm") {
  const runtime = await built()
  if (workload === "list-warm") await doList(runtime)
  await timed(out, () => doList(runtime))
  await runtime.dispose()
} else if (workload === "get" || workload === "get-warm") {
  const n = Number(process.env.PERF_GET_N ?? 2000)
  const names = readFileSync(process.env.PERF_NAMES_FILE, "utf8").split("\n").filter(Boolean).slice(0, n)
  const runtime = await built()
  if (workload === "get-warm") await doGet(runtime, names)
  await timed(out, () => doGet(runtime, names))
  await runtime.dispose()
} else if (workload === "first") {
  let runtime
  let constructed = 0
  await timed(out, async () => {
    const t0 = performance.now()
    runtime = await built()
    constructed = performance.now() - t0
    const first = await runtime.runPromise(Stream.runHead(Fleet.listUnits()))
    return Option.isSome(first) && first.value.name ? 1 : 0
  })
  out.construct_seconds = constructed / 1000
  await runtime.dispose()
} else {
  out.skipped = "unknown workload"
}
out.import_seconds = importSeconds
process.stdout.write(`${JSON.stringify(out)}\n`)
