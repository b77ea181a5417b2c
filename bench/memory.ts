/**
 * Figure 4: memory while streaming a large listing. Each measurement runs in a fresh child process
 * (`node --expose-gc bench/memory.ts COUNT [FLEET_URL [fleet|raw]]`; without a URL it starts its own server in another
 * process: `bench/serve.ts pager`, as no fleet can list 100,000 units) so that its RSS holds nothing but one client. The idle RSS is taken after the client is built,
 * has fetched one page and was garbage-collected; peaks are sampled every millisecond and at every page while
 * `listUnits()` (or the raw loop) streams and counts the whole listing, separately for its first and second half.
 * Target (issue 11): peak growth over idle <= 16 MiB, and the same at 10k and 100k units (and within a run), within
 * `flatSlack`.
 */
import { spawn } from "node:child_process"
import { ManagedRuntime, Stream } from "effect"
import { Agent } from "undici"
import * as Fleet from "../src/Fleet.ts"
import { mib, poolSize, type Row, serve } from "./lib.ts"
import { rawList } from "./list.ts"

export const bound = 16 * 1024 * 1024

/** Peaks over idle, in bytes. */
interface Peaks {
  rss: number
  heapUsed: number
  /** Memory outside the V8 heap that V8 accounts for: the ArrayBuffers and Buffers of response bodies. */
  external: number
}

interface Measured {
  readonly count: number
  readonly idleRss: number
  readonly firstHalf: Peaks
  readonly secondHalf: Peaks
  /** Heap in use after the listing and a full collection, over idle: what the listing left behind. */
  readonly retained: number
}

const child = async (count: number, url: string, side: string): Promise<Measured> => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error("run with node --expose-gc")
  const runtime = ManagedRuntime.make(Fleet.layer(url, { connections: poolSize }))
  const agent = new Agent({ connections: poolSize })
  try {
    // Everything a listing needs is loaded, connected and compiled before idle is measured.
    await runtime.runPromise(Fleet.listUnitsPage())
    for (let i = 0; i < 3; i++) gc()
    const idle = process.memoryUsage()
    const firstHalf: Peaks = { rss: 0, heapUsed: 0, external: 0 }
    const secondHalf: Peaks = { rss: 0, heapUsed: 0, external: 0 }
    let listed = 0
    const sample = () => {
      const usage = process.memoryUsage()
      const peaks = listed < count / 2 ? firstHalf : secondHalf
      peaks.rss = Math.max(peaks.rss, usage.rss - idle.rss)
      peaks.heapUsed = Math.max(peaks.heapUsed, usage.heapUsed - idle.heapUsed)
      peaks.external = Math.max(peaks.external, usage.external - idle.external)
    }
    const timer = setInterval(sample, 1)
    let total: number
    try {
      total =
        side === "raw"
          ? await rawList(agent, url, (n) => {
              listed = n
              sample()
            })
          : await runtime.runPromise(
              // Counted per page, not per unit: a per-unit effect would add garbage of its own.
              Fleet.listUnits().pipe(
                Stream.mapArray((units) => {
                  listed += units.length
                  sample()
                  return units
                }),
                Stream.runCount
              )
            )
    } finally {
      clearInterval(timer)
    }
    sample()
    if (total !== count) throw new Error(`listed ${total} units, expected ${count}`)
    for (let i = 0; i < 3; i++) gc()
    const retained = process.memoryUsage().heapUsed - idle.heapUsed
    return { count, idleRss: idle.rss, firstHalf, secondHalf, retained }
  } finally {
    await runtime.dispose()
    await agent.close()
  }
}

/** Measures one side in a fresh `node --expose-gc` process. */
export const measure = (count: number, url: string, side: "fleet" | "raw"): Promise<Measured> =>
  new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--expose-gc", import.meta.filename, String(count), url, side], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    proc.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
    })
    proc.once("error", reject)
    proc.once("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out) as Measured) : reject(new Error(`bench/memory.ts exited with ${code}`))
    )
  })

/** How much more a later peak may be than an earlier one and still count as flat. */
const flatSlack = 4 * 1024 * 1024

/** effect-fleet runs in this many fresh processes per count (the baseline in one); the median growth is kept. */
export const processes = 3

const growthOf = (measured: Measured): number => Math.max(measured.firstHalf.rss, measured.secondHalf.rss)

const medianRun = async (count: number, url: string, side: "fleet" | "raw", times: number): Promise<Measured> => {
  const runs: Array<Measured> = []
  for (let i = 0; i < times; i++) runs.push(await measure(count, url, side))
  return runs.sort((a, b) => growthOf(a) - growthOf(b))[Math.floor(runs.length / 2)]!
}

const count = (n: number) => n.toLocaleString("en")

export const run = async (servers: ReadonlyArray<{ readonly count: number; readonly url: string }>) => {
  const rows: Array<Row> = []
  let first: { readonly count: number; readonly growth: number } | undefined
  for (const server of servers) {
    const fleet = await medianRun(server.count, server.url, "fleet", processes)
    const raw = await medianRun(server.count, server.url, "raw", 1)
    const growth = growthOf(fleet)
    first ??= { count: server.count, growth }
    const halves = `${mib(fleet.firstHalf.rss)} then ${mib(fleet.secondHalf.rss)}`
    const flatInRun = fleet.secondHalf.rss <= fleet.firstHalf.rss + flatSlack
    const flatAcross = growth <= first.growth + flatSlack
    const problems = [
      ...(growth > bound ? [`over the bound by ${mib(growth - bound)}`] : []),
      ...(flatInRun ? [] : [`second half +${mib(fleet.secondHalf.rss - fleet.firstHalf.rss)}`]),
      ...(flatAcross ? [] : [`+${mib(growth - first.growth)} vs ${count(first.count)}`])
    ]
    const peak = (measured: Measured, key: keyof Peaks) =>
      mib(Math.max(measured.firstHalf[key], measured.secondHalf[key]))
    rows.push({
      figure: "4. memory",
      measure:
        `stream ${count(server.count)} units: peak RSS over idle (idle ${mib(fleet.idleRss)}), median of ` +
        `${processes} processes; first half then second half: ${halves}; peak heap ${peak(fleet, "heapUsed")}` +
        ` (raw ${peak(raw, "heapUsed")}), peak off-heap ${peak(fleet, "external")} (raw ${peak(raw, "external")});` +
        ` heap left after GC ${mib(fleet.retained)}`,
      fleet: mib(growth),
      raw: mib(growthOf(raw)),
      ratio: "-",
      target: "<= 16 MiB, flat",
      verdict: problems.length === 0 ? "met" : `missed: ${problems.join(", ")}`
    })
  }
  return rows
}

if (import.meta.main) {
  const [units = "100000", url, side = "fleet"] = process.argv.slice(2)
  // Without a URL, a server of COUNT units is started in another process, so that its memory is not ours
  const server = url === undefined ? await serve("pager", units) : undefined
  try {
    const result = await child(Number(units), url ?? server!.url, side)
    process.stdout.write(`${JSON.stringify(result)}\n`)
  } finally {
    await server?.stop()
  }
}
