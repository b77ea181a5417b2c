// One start-up measurement, in a fresh process started by bench/startup.ts:
//
//   node bench/startupChild.mjs raw|fleet ORIGIN
//
// Plain JavaScript, so that neither side pays for type stripping; the effect-fleet side loads the BUILT library
// (dist/, through the package's own exports) and the Effect modules a program uses with it, by deep imports.
// Prints one JSON line: import, layer build (raw: a new undici Agent and the discovery probe, what building
// Fleet.layer does), first unit (the first page fetched and one unit taken from it) in milliseconds, the process's
// CPU time (user + system, all threads, from its start) at each of those points, and RSS after the imports and at
// the first unit in bytes (a transport module loaded by the layer build counts only in the second).
const [side, origin] = process.argv.slice(2)

const rssBefore = process.memoryUsage.rss()
const t0 = performance.now()
const cpuMs = () => {
  const used = process.cpuUsage()
  return (used.user + used.system) / 1000
}
const cpu = []
const mark = () => {
  cpu.push(cpuMs())
  return performance.now()
}
let firstUnit
if (side === "raw") {
  const { Agent, request } = await import("undici")
  const getJSON = async (agent, path) => {
    const response = await request(`${origin}${path}`, { dispatcher: agent })
    const text = await response.body.text()
    if (response.statusCode !== 200) throw new Error(`raw: GET ${path}: HTTP ${response.statusCode}`)
    return JSON.parse(text)
  }
  const t1 = mark()
  const rssImported = process.memoryUsage.rss()
  const agent = new Agent({ connections: 10 })
  const discovery = await getJSON(agent, "/fleet/v1/discovery")
  if (discovery.id !== "fleet:v1") throw new Error("raw: not a fleet endpoint")
  const t2 = mark()
  const page = await getJSON(agent, "/fleet/v1/units")
  firstUnit = page.units?.[0]
  const t3 = mark()
  if (firstUnit?.name === undefined) throw new Error("raw: no unit")
  report(t1, t2, t3, rssImported)
  await agent.close()
} else {
  const [ManagedRuntime, Option, Stream, Fleet] = await Promise.all([
    import("effect/ManagedRuntime"),
    import("effect/Option"),
    import("effect/Stream"),
    import("effect-fleet/Fleet")
  ])
  const t1 = mark()
  const rssImported = process.memoryUsage.rss()
  const runtime = ManagedRuntime.make(Fleet.layer(origin, { connections: 10 }))
  await runtime.context()
  const t2 = mark()
  const first = await runtime.runPromise(Stream.runHead(Fleet.listUnits()))
  const t3 = mark()
  if (Option.isNone(first)) throw new Error("effect-fleet: no unit")
  report(t1, t2, t3, rssImported)
  await runtime.dispose()
}

function report(t1, t2, t3, rssImported) {
  process.stdout.write(
    `${JSON.stringify({
      importMs: t1 - t0,
      layerMs: t2 - t1,
      firstPageMs: t3 - t2,
      cpuImportedMs: cpu[0],
      cpuLayerMs: cpu[1] - cpu[0],
      cpuFirstPageMs: cpu[2] - cpu[1],
      cpuToFirstMs: cpu[2],
      // From the process's time origin (node's start), imports included.
      startToFirstMs: t3,
      rssBefore,
      rssImported,
      rssFirst: process.memoryUsage.rss()
    })}\n`
  )
}
