/**
 * `npm run bench [-- FIGURE...]`: every figure of the benchmark suite, each against its raw undici baseline in this
 * process and against the same server. Figures: servers, list, get, create, memory, first, startup, ssh. The results
 * are printed and written to `bench/results.md`. `npm run bench` builds `dist/` first: the start-up figure runs on it.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { spawn } from "node:child_process"
import * as ColdStart from "./coldStart.ts"
import * as Create from "./create.ts"
import * as Get from "./get.ts"
import { benchDir, loadAverage, machine, poolSize, rounds, type Row, type Served, serve } from "./lib.ts"
import * as List from "./list.ts"
import * as Memory from "./memory.ts"
import * as Startup from "./startup.ts"
import * as Throughput from "./throughput.ts"

const all = ["servers", "list", "get", "create", "memory", "first", "startup", "ssh"] as const
const selected = new Set(process.argv.length > 2 ? process.argv.slice(2) : all)
const listed = 10_000

/** A Markdown table with padded columns, as the formatter (`biome check`) writes it. */
const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const width = (text: string) => [...text].length
  const widths = headers.map((header, i) => Math.max(3, width(header), ...rows.map((row) => width(row[i] ?? ""))))
  const line = (cells: ReadonlyArray<string>) =>
    `| ${cells.map((cell, i) => cell + " ".repeat(widths[i]! - width(cell))).join(" | ")} |`
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")
}

const clientTable = (rows: ReadonlyArray<Row>): string =>
  table(
    [
      "figure",
      "measure",
      "effect-fleet",
      "raw undici",
      "effect-fleet / raw",
      "CPU / raw",
      "target",
      "verdict",
      "Effect HttpClient alone",
      "HttpClient / raw"
    ],
    rows.map((row) => [
      row.figure,
      row.measure,
      row.fleet,
      row.raw,
      row.ratio,
      row.cpuRatio ?? "-",
      row.target,
      row.verdict,
      row.http ?? "-",
      row.httpRatio ?? "-"
    ])
  )

const serverTable = (rows: ReadonlyArray<Row>): string =>
  table(
    ["measure", "local fleet server", "static replay", "fleet / static"],
    rows.map((row) => [row.measure, row.fleet, row.raw, row.ratio])
  )

/** Runs the SSH helper's benchmark when it exists and sshd is installed; its own output is kept as it is. */
const ssh = async (): Promise<string | undefined> => {
  const script = path.join(benchDir, "ssh.ts")
  if (!fs.existsSync(script)) return "bench/ssh.ts is not there yet: skipped."
  if (!fs.existsSync("/usr/sbin/sshd")) return "no /usr/sbin/sshd on this machine: skipped."
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] })
    let out = ""
    proc.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      process.stdout.write(chunk)
    })
    proc.once("error", reject)
    proc.once("exit", (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`bench/ssh.ts exited with ${code}`))
    )
  })
}

const started = new Date()
const loadBefore = loadAverage()
const header = [
  `Machine: ${await machine()}.`,
  `Load average (1, 5, 15 min) at the start: ${loadBefore}.`,
  `Medians of ${rounds} rounds (cold start: ${ColdStart.coldRounds}) after a warm-up; ratios are medians of the`,
  `per-round ratios. Pool size ${poolSize} for both sides.`
].join("\n")
process.stdout.write(`${header}\n\n`)

const clientRows: Array<Row> = []
const serverRows: Array<Row> = []
let sshOutput: string | undefined
const report = (rows: ReadonlyArray<Row>) => {
  for (const row of rows) {
    const floor = row.http === undefined ? "" : `  (HttpClient alone: ${row.http}, ${row.httpRatio})`
    const cpu = row.cpuRatio === undefined ? "" : ` (CPU ${row.cpuRatio})`
    process.stdout.write(
      `${row.figure}  ${row.measure}: ${row.fleet} vs ${row.raw}  ${row.ratio}${cpu}  ${row.verdict}${floor}\n`
    )
  }
}

const servers: Array<Served> = []
try {
  const fleet = await serve("fleet", String(listed))
  servers.push(fleet)
  const replay = await serve("static", fleet.url, String(Get.calls))
  servers.push(replay)
  if (selected.has("servers")) {
    const rows = await Throughput.run(fleet.url, replay.url, listed)
    serverRows.push(...rows)
    report(rows)
  }
  const figures: ReadonlyArray<readonly [string, () => Promise<Array<Row>>]> = [
    ["list", () => List.run(replay.url, listed)],
    ["get", () => Get.run(replay.url)],
    ["create", () => Create.run(replay.url)],
    ["first", () => ColdStart.run(replay.url)],
    ["startup", () => Startup.run(replay.url)],
    [
      "memory",
      async () => {
        // fleet lists at most 65,500 units in pages of 100 (its page bounds are 16-bit): both counts come from the
        // pager, so that they differ only in the count
        const small = await serve("pager", String(listed))
        const large = await serve("pager", "100000")
        servers.push(small, large)
        return Memory.run([
          { count: listed, url: small.url },
          { count: 100_000, url: large.url }
        ])
      }
    ]
  ]
  for (const [name, run] of figures) {
    if (!selected.has(name)) continue
    const rows = await run()
    clientRows.push(...rows)
    report(rows)
  }
  if (selected.has("ssh")) {
    // The tunnel's benchmark belongs to the SSH module and may be broken while it changes: say so and go on.
    sshOutput = await ssh().catch((error: unknown) => `bench/ssh.ts failed: ${String(error)}`)
  }
} finally {
  for (const server of servers) await server.stop()
}

const results = [
  "# effect-fleet benchmark results",
  "",
  `Run ${started.toISOString()} with \`npm run bench\`. ${header}`,
  `Load average at the end: ${loadAverage()}.`,
  "",
  ...(serverRows.length > 0 ? ["## Servers", "", serverTable(serverRows), ""] : []),
  ...(clientRows.length > 0 ? ["## effect-fleet against raw undici", "", clientTable(clientRows), ""] : []),
  ...(sshOutput !== undefined ? ["## SSH tunnel (bench/ssh.ts)", "", "```", sshOutput, "```", ""] : [])
].join("\n")
fs.writeFileSync(path.join(benchDir, "results.md"), results)
process.stdout.write(`\n${results}\n`)
