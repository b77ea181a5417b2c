/**
 * The CLI's wall time: `effect-fleet list-units` against `fleetctl list-units`, each a fresh process against the same
 * local fleet server (100 units running on 10 machines), median of a few runs. Target: under 0.5 s. Not part of the
 * test suite; run it with `node bench/cli.ts` (or `npm run build` first to time the compiled CLI, which the bin
 * prefers when dist/ exists).
 *
 * fleetctl comes from ../shared/tools/fleet-ref; without it only effect-fleet is timed.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const repo = path.resolve(import.meta.dirname, "..")
const bin = path.join(repo, "bin", "effect-fleet.js")
const fleetctl = path.resolve(repo, "../shared/tools/fleet-ref/bin/fleetctl")
const rounds = Number(process.env.ROUNDS ?? 9)

const machines = Array.from({ length: 10 }, (_, i) => ({
  id: `${i}`.padStart(4, "0") + "a1b2c3d4e5f60718293a4b5c6d7e8f9",
  primaryIP: `10.0.0.${i + 1}`
}))
const units = Array.from({ length: 100 }, (_, i) => ({
  name: `web@${i}.service`,
  desiredState: "launched",
  currentState: "launched",
  machineID: machines[i % 10]!.id,
  options: [{ section: "Service", name: "ExecStart", value: `/usr/bin/sleep ${i}` }]
}))
const states = units.map((u) => ({
  name: u.name,
  hash: "0123456789abcdef0123456789abcdef01234567",
  machineID: u.machineID,
  systemdLoadState: "loaded",
  systemdActiveState: "active",
  systemdSubState: "running"
}))

const seedFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-bench-")), "seed.json")
fs.writeFileSync(seedFile, JSON.stringify({ machines, units, states }))

const server = spawn(process.execPath, [bin, "serve", "--port", "0", "--agents", "off", "--seed", seedFile], {
  stdio: ["ignore", "pipe", "inherit"]
})
const url = await new Promise<string>((resolve, reject) => {
  let text = ""
  server.stdout!.on("data", (chunk: Buffer) => {
    text += chunk.toString()
    const match = /listening on (http:\/\/\S+)/.exec(text)
    if (match !== null) resolve(match[1]!)
  })
  server.once("exit", (code) => reject(new Error(`server exited with ${code}`)))
})

const gnuTime = fs.existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined

interface Sample {
  readonly wall: number
  /** user + system CPU of the child, when /usr/bin/time can say: less sensitive to a loaded machine than wall time. */
  readonly cpu: number | undefined
}

const time = (command: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env): Sample => {
  const start = process.hrtime.bigint()
  if (gnuTime === undefined) {
    execFileSync(command, [...args], { stdio: ["ignore", "ignore", "inherit"], env })
    return { wall: Number(process.hrtime.bigint() - start) / 1e6, cpu: undefined }
  }
  const result = spawnSync(gnuTime, ["-f", "%U %S", command, ...args], { stdio: ["ignore", "ignore", "pipe"], env })
  const wall = Number(process.hrtime.bigint() - start) / 1e6
  const [user, system] = result.stderr.toString().trim().split("\n").at(-1)!.split(" ").map(Number)
  return { wall, cpu: ((user ?? 0) + (system ?? 0)) * 1000 }
}

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const measure = (command: string, args: ReadonlyArray<string>, env?: NodeJS.ProcessEnv) => {
  time(command, args, env) // warm the file cache (and fill the compile cache)
  const samples = Array.from({ length: rounds }, () => time(command, args, env))
  const walls = samples.map((s) => s.wall)
  const cpus = samples.flatMap((s) => (s.cpu === undefined ? [] : [s.cpu]))
  return { median: median(walls), min: Math.min(...walls), cpu: cpus.length > 0 ? median(cpus) : undefined }
}

try {
  const ours = measure(process.execPath, [bin, "--endpoint", url, "list-units"])
  const distBin = path.join(repo, "dist", "bin.js")
  const unbundled = fs.existsSync(distBin)
    ? measure(process.execPath, [distBin, "--endpoint", url, "list-units"], {
        ...process.env,
        NODE_DISABLE_COMPILE_CACHE: "1"
      })
    : undefined
  const theirs = fs.existsSync(fleetctl) ? measure(fleetctl, ["--endpoint", url, "list-units"]) : undefined
  const compiled = !fs.existsSync(distBin)
    ? "src (type-stripped)"
    : fs.existsSync(path.join(repo, "dist", "cli-bundle", "bin.js"))
      ? "the bundle (dist/cli-bundle)"
      : "dist (compiled, not bundled)"
  const ms = (n: number) => `${n.toFixed(0)} ms`
  const cpu = (n: number | undefined) => (n === undefined ? "-" : ms(n))
  console.log(`list-units, 100 units on 10 machines, median of ${rounds} runs (min in brackets); CLI from ${compiled}`)
  console.log(`load average while measuring: ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`)
  console.log(`| command | wall time | CPU (user+sys) | target |`)
  console.log(`|---|---|---|---|`)
  console.log(
    `| effect-fleet list-units | ${ms(ours.median)} (${ms(ours.min)}) | ${cpu(ours.cpu)} |` +
      ` < 500 ms: ${ours.median < 500 ? "met" : "NOT met"} |`
  )
  if (unbundled !== undefined) {
    console.log(
      `| node dist/bin.js list-units (unbundled, no compile cache) | ${ms(unbundled.median)} (${ms(unbundled.min)}) |` +
        ` ${cpu(unbundled.cpu)} | - |`
    )
  }
  if (theirs !== undefined) {
    console.log(`| fleetctl list-units | ${ms(theirs.median)} (${ms(theirs.min)}) | ${cpu(theirs.cpu)} | - |`)
    console.log(`ratio effect-fleet / fleetctl: ${(ours.median / theirs.median).toFixed(1)}x`)
  }
} finally {
  server.kill()
}
