/**
 * Figure 7: start-up, each side in a fresh process (`bench/startupChild.mjs`) against the static replay, raw undici
 * and effect-fleet alternating round by round: import time, layer build (raw: a new `Agent` and the discovery
 * probe), first unit (the first page after the layer), layer build + first unit, RSS after import and at the first
 * unit, and process start to first unit (from `spawn` until the child reports its first unit, node's own start-up
 * and the imports included). effect-fleet runs on the built `dist/` (`npm run bench` builds it first). Targets (issue 11): layer
 * build + first unit <= 1.5x raw, process start to first unit <= 2.0x raw.
 */
import { spawn } from "node:child_process"
import * as path from "node:path"
import { benchDir, cpuVerdict, median, mib, ms, type Row, times, verdict } from "./lib.ts"

export const startupRounds = Number(process.env.BENCH_STARTUP_ROUNDS ?? 11)

interface Sample {
  readonly importMs: number
  readonly layerMs: number
  readonly firstPageMs: number
  readonly cpuImportedMs: number
  readonly cpuLayerMs: number
  readonly cpuFirstPageMs: number
  readonly cpuToFirstMs: number
  readonly rssImported: number
  readonly rssFirst: number
  /** Measured by the parent: from `spawn` until the child's line arrived. */
  readonly spawnToFirstMs: number
}

type Side = "raw" | "fleet"

const once = (side: Side, origin: string): Promise<Sample> =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    const proc = spawn(process.execPath, [path.join(benchDir, "startupChild.mjs"), side, origin], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    let arrived: number | undefined
    proc.stdout.on("data", (chunk: Buffer) => {
      arrived ??= performance.now()
      out += chunk.toString()
    })
    proc.once("error", reject)
    proc.once("exit", (code) => {
      if (code !== 0 || arrived === undefined) return reject(new Error(`startupChild ${side} exited with ${code}`))
      const measured = JSON.parse(out) as Omit<Sample, "spawnToFirstMs">
      resolve({ ...measured, spawnToFirstMs: arrived - started })
    })
  })

interface Figure {
  readonly measure: string
  readonly unit: (value: number) => string
  readonly wall: (sample: Sample) => number
  readonly cpu?: (sample: Sample) => number
  readonly target?: number
}

const figures: ReadonlyArray<Figure> = [
  {
    measure: "import (undici vs effect-fleet/Fleet + Effect modules, deep imports)",
    unit: ms,
    wall: (s) => s.importMs,
    cpu: (s) => s.cpuImportedMs
  },
  {
    measure: "layer build: new pool + discovery probe",
    unit: ms,
    wall: (s) => s.layerMs,
    cpu: (s) => s.cpuLayerMs
  },
  {
    measure: "first unit: first page after the layer",
    unit: ms,
    wall: (s) => s.firstPageMs,
    cpu: (s) => s.cpuFirstPageMs
  },
  {
    measure: "layer build + first unit",
    unit: ms,
    wall: (s) => s.layerMs + s.firstPageMs,
    cpu: (s) => s.cpuLayerMs + s.cpuFirstPageMs,
    target: 1.5
  },
  { measure: "RSS after import", unit: mib, wall: (s) => s.rssImported },
  { measure: "RSS at the first unit (modules the layer build loads included)", unit: mib, wall: (s) => s.rssFirst },
  {
    measure: "process start to first unit (wall: spawn to the child's report; CPU: the child's from its start)",
    unit: ms,
    wall: (s) => s.spawnToFirstMs,
    cpu: (s) => s.cpuToFirstMs,
    target: 2.0
  }
]

const ratioOf = (fleet: ReadonlyArray<Sample>, raw: ReadonlyArray<Sample>, value: (sample: Sample) => number) =>
  median(fleet.map((sample, i) => value(sample) / value(raw[i]!)))

export const run = async (origin: string): Promise<Array<Row>> => {
  const sides: ReadonlyArray<Side> = ["raw", "fleet"]
  // One untimed process of each side first: the file system cache, the replay's own JIT.
  for (const side of sides) await once(side, origin)
  const samples: Record<Side, Array<Sample>> = { raw: [], fleet: [] }
  for (let round = 0; round < startupRounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse()
    for (const side of order) samples[side].push(await once(side, origin))
  }
  return figures.map(({ measure, unit, wall, cpu, target }) => {
    const ratio = ratioOf(samples.fleet, samples.raw, wall)
    const cpuRatio = cpu === undefined ? undefined : ratioOf(samples.fleet, samples.raw, cpu)
    const cpuNote =
      cpu === undefined ? "" : ` (CPU ${ms(median(samples.fleet.map(cpu)))} vs ${ms(median(samples.raw.map(cpu)))})`
    return {
      figure: "7. start-up",
      measure: `${measure}; fresh process per side, median of ${startupRounds}${cpuNote}`,
      fleet: unit(median(samples.fleet.map(wall))),
      raw: unit(median(samples.raw.map(wall))),
      ratio: times(ratio),
      cpuRatio: cpuRatio === undefined ? undefined : times(cpuRatio),
      target: target === undefined ? "(none set)" : `<= ${target}x`,
      verdict:
        target === undefined
          ? "-"
          : cpuRatio === undefined
            ? verdict(ratio, target)
            : cpuVerdict(cpuRatio, ratio, target)
    }
  })
}
