/**
 * What every figure shares: rounds and medians, the child processes that serve fleet (so that server work never
 * competes with the client on its event loop), the seed units, and the shape of a result row.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as os from "node:os"
import * as path from "node:path"
import * as readline from "node:readline"
import { Unit, UnitOption } from "../src/Unit.ts"

export const benchDir = import.meta.dirname

/** Rounds per measurement; the median is reported. `BENCH_ROUNDS` overrides it. */
export const rounds = Number(process.env.BENCH_ROUNDS ?? 7)

/** The connection pool size given to both effect-fleet and raw undici. */
export const poolSize = 10

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export interface Compared<K extends string> {
  /** Milliseconds per round, for each side. */
  readonly samples: Record<K, ReadonlyArray<number>>
  readonly medians: Record<K, number>
  /**
   * Each side's median ratio to the baseline (the first side given): each round runs every side back to back, so
   * a round's ratio compares runs that shared the machine's mood.
   */
  readonly ratios: Record<K, number>
  /** The same for this process's CPU time (user + system, all threads), the servers being other processes. */
  readonly cpuRatios: Record<K, number>
}

const time = async (run: () => Promise<unknown>): Promise<{ readonly wall: number; readonly cpu: number }> => {
  const cpu = process.cpuUsage()
  const start = performance.now()
  await run()
  const wall = performance.now() - start
  const used = process.cpuUsage(cpu)
  return { wall, cpu: (used.user + used.system) / 1000 }
}

/**
 * Runs every side once (or `warmup` times) to warm the JIT and the pools, then `rounds` rounds of every side, in
 * an order that rotates from round to round so that no side always runs first or last. The first side is the
 * baseline of the ratios.
 */
export const compare = async <K extends string>(
  sides: Record<K, () => Promise<unknown>>,
  options: { readonly rounds?: number; readonly warmup?: number } = {}
): Promise<Compared<K>> => {
  const names = Object.keys(sides) as Array<K>
  const baseline = names[0]!
  for (let i = 0; i < (options.warmup ?? 1); i++) for (const name of names) await sides[name]()
  const samples = Object.fromEntries(names.map((name) => [name, [] as Array<number>])) as Record<K, Array<number>>
  const ratios = Object.fromEntries(names.map((name) => [name, [] as Array<number>])) as Record<K, Array<number>>
  const cpuRatios = Object.fromEntries(names.map((name) => [name, [] as Array<number>])) as Record<K, Array<number>>
  for (let round = 0; round < (options.rounds ?? rounds); round++) {
    const taken = {} as Record<K, { readonly wall: number; readonly cpu: number }>
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length]!
      taken[name] = await time(sides[name])
    }
    for (const name of names) {
      samples[name].push(taken[name].wall)
      ratios[name].push(taken[name].wall / taken[baseline].wall)
      cpuRatios[name].push(taken[name].cpu / taken[baseline].cpu)
    }
  }
  const medianOf = (record: Record<K, Array<number>>) =>
    Object.fromEntries(names.map((name) => [name, median(record[name])])) as Record<K, number>
  return { samples, medians: medianOf(samples), ratios: medianOf(ratios), cpuRatios: medianOf(cpuRatios) }
}

/** One line of the results table. */
export interface Row {
  readonly figure: string
  readonly measure: string
  readonly fleet: string
  readonly raw: string
  readonly ratio: string
  /** The ratio of client CPU time (this process's), where measured in process: what issue 11's targets are on. */
  readonly cpuRatio?: string | undefined
  /** Effect's own `HttpClient` on the same undici pool with no fleet code: the floor under effect-fleet. */
  readonly http?: string | undefined
  readonly httpRatio?: string | undefined
  readonly target: string
  readonly verdict: string
}

export const ms = (value: number): string => `${value.toFixed(value < 10 ? 2 : 1)} ms`
export const us = (value: number): string => `${value.toFixed(1)} µs`
export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
export const times = (ratio: number): string => `${ratio.toFixed(2)}x`

export const verdict = (ratio: number, target: number): string => {
  if (ratio <= target) return "met"
  const over = (ratio / target - 1) * 100
  return `missed by ${over < 1 ? "<1" : over.toFixed(0)}%`
}

/** Issue 11's targets are on client CPU; the wall-time verdict is given beside it. */
export const cpuVerdict = (cpuRatio: number, wallRatio: number, target: number): string =>
  `CPU: ${verdict(cpuRatio, target)}; wall: ${verdict(wallRatio, target)}`

/** `count` units named `bench-000000.service`..., each with the three options of a typical service. */
export const seedUnits = (count: number, prefix = "bench"): Array<Unit> =>
  Array.from({ length: count }, (_, i) => {
    const name = `${prefix}-${String(i).padStart(6, "0")}.service`
    return new Unit({
      name,
      desiredState: "inactive",
      options: [
        new UnitOption({ section: "Unit", name: "Description", value: `bench unit ${i}` }),
        new UnitOption({ section: "Service", name: "ExecStart", value: `/usr/bin/sleep ${1000 + i}` }),
        new UnitOption({ section: "X-Fleet", name: "MachineMetadata", value: "role=bench" })
      ]
    })
  })

export interface Served {
  readonly url: string
  readonly pid: number
  readonly stop: () => Promise<void>
}

/**
 * Starts `bench/serve.ts` in a child process and waits for the URL it prints: a local fleet (`fleet COUNT`) or the
 * static replay server (`static FLEET_URL`).
 */
export const serve = (...args: ReadonlyArray<string>): Promise<Served> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [path.join(benchDir, "serve.ts"), ...args], {
      // The child watches its stdin: when this process dies, however it dies, the pipe closes and the child exits.
      stdio: ["pipe", "pipe", "inherit"]
    })
    const lines = readline.createInterface({ input: child.stdout! })
    child.once("error", reject)
    child.once("exit", (code) => reject(new Error(`bench/serve.ts ${args.join(" ")} exited with ${code}`)))
    lines.once("line", (line) => {
      const { url } = JSON.parse(line) as { url: string }
      resolve({
        url,
        pid: child.pid!,
        stop: () =>
          new Promise<void>((done) => {
            child.removeAllListeners("exit")
            if (child.exitCode !== null) return done()
            child.once("exit", () => done())
            child.kill("SIGTERM")
          })
      })
    })
  })

/** The machine a run happened on, for the results table. */
export const machine = async (): Promise<string> => {
  const fs = await import("node:fs")
  const cpuinfo = fs.readFileSync("/proc/cpuinfo", "utf8")
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown CPU"
  return `${os.availableParallelism()} CPUs (nproc), ${model}, Node ${process.version}`
}

export const loadAverage = (): string =>
  os
    .loadavg()
    .map((load) => load.toFixed(2))
    .join(" ")
