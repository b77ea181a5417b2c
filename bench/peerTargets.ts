/**
 * Issue 11's targets against one run of the peer harness: `npx node bench/peerTargets.ts OUTDIR` reads the harness's
 * `OUTDIR/results.jsonl` and prints, for every figure the harness measures, each client's ratio to raw undici (the
 * median of the client over the median of undici, measured rounds only, as the harness's own summary divides) and
 * whether effect-fleet meets the target (and, for comparison, effect-fleet with a tracer installed:
 * `effect-fleet-traced`). `npm run bench:peers` runs it after the harness.
 */
import * as fs from "node:fs"
import * as path from "node:path"

interface Run {
  readonly adapter: string
  readonly workload: string
  readonly round: number
  readonly rc?: number
  readonly failed?: boolean
  readonly skipped?: string
  readonly items?: number
  readonly seconds?: number
  readonly cpu_seconds?: number
  readonly proc_wall_s?: number
  readonly proc_cpu_s?: number
  readonly max_rss_kb?: number
}

const outDir = process.argv[2]
if (outDir === undefined) {
  process.stderr.write("usage: node bench/peerTargets.ts HARNESS_OUTDIR\n")
  process.exit(2)
}

const runs: Array<Run> = fs
  .readFileSync(path.join(outDir, "results.jsonl"), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => JSON.parse(line) as Run)
  .filter((run) => run.round >= 1 && run.rc === 0 && run.failed !== true && run.skipped === undefined)

const median = (values: ReadonlyArray<number>): number | undefined => {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** A figure's value for one run, per call where clients make different numbers of calls (fleetctl's 50 `cat`s). */
type Measure = (run: Run) => number | undefined

const perItem =
  (field: "cpu_seconds" | "seconds"): Measure =>
  (run) =>
    run[field] === undefined || run.items === undefined || run.items === 0 ? undefined : run[field]! / run.items

interface Figure {
  readonly figure: string
  readonly workload: string
  readonly measure: Measure
  readonly target: number
  readonly python?: string
}

// The table: ratios to raw undici, client CPU medians, in one run.
const figures: ReadonlyArray<Figure> = [
  { figure: "list 10k, warm (client CPU)", workload: "list-warm", measure: (r) => r.cpu_seconds, target: 1.1 },
  { figure: "list 10k, cold process (client CPU)", workload: "list", measure: (r) => r.cpu_seconds, target: 1.2 },
  { figure: "getUnit, warm (client CPU per call)", workload: "get-warm", measure: perItem("cpu_seconds"), target: 1.2 },
  {
    figure: "getUnit, cold process (client CPU per call)",
    workload: "get",
    measure: perItem("cpu_seconds"),
    target: 1.25
  },
  { figure: "peak RSS listing 10k", workload: "list", measure: (r) => r.max_rss_kb, target: 1.0 },
  { figure: "layer build + first unit (client CPU)", workload: "first", measure: (r) => r.cpu_seconds, target: 1.5 },
  { figure: "layer build + first unit (wall)", workload: "first", measure: (r) => r.seconds, target: 1.5 },
  {
    figure: "process start to first unit (process wall of `first`, imports included)",
    workload: "first",
    measure: (r) => r.proc_wall_s,
    target: 2.0
  },
  {
    figure: "process start to first unit (process CPU of `first`)",
    workload: "first",
    measure: (r) => r.proc_cpu_s,
    target: 2.0
  }
]

const medianOf = (adapter: string, figure: Figure): number | undefined =>
  median(
    runs
      .filter((run) => run.adapter === adapter && run.workload === figure.workload)
      .flatMap((run) => {
        const value = figure.measure(run)
        return value === undefined ? [] : [value]
      })
  )

const ratio = (adapter: string, figure: Figure): number | undefined => {
  const value = medianOf(adapter, figure)
  const base = medianOf("undici", figure)
  return value === undefined || base === undefined || base === 0 ? undefined : value / base
}

const show = (value: number | undefined): string => (value === undefined ? "–" : `${value.toFixed(2)}x`)

const rows = figures.map((figure) => {
  const fleet = ratio("effect-fleet", figure)
  const verdict =
    fleet === undefined
      ? "not measured"
      : fleet <= figure.target
        ? "met"
        : `missed by ${((fleet / figure.target - 1) * 100).toFixed(0)}%`
  return [
    figure.figure,
    show(ratio("python-fleet", figure)),
    show(ratio("fleetctl", figure)),
    show(fleet),
    `<= ${figure.target}x`,
    verdict,
    show(ratio("effect-fleet-traced", figure))
  ]
})

const lines = [
  `Issue 11's targets in ${outDir}: ratio to raw undici (median over median, measured rounds), effect-fleet's verdict.`,
  "",
  "| figure | python-fleet | fleetctl | effect-fleet | target | effect-fleet verdict | effect-fleet, a tracer installed |",
  "|---|---:|---:|---:|---|---|---:|",
  ...rows.map((row) => `| ${row.join(" | ")} |`)
]
process.stdout.write(`${lines.join("\n")}\n`)
