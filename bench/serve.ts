/**
 * A server for the benchmarks, in its own process: `node bench/serve.ts fleet COUNT` serves a local fleet seeded with
 * COUNT units; `node bench/serve.ts static FLEET_URL [GETS]` records what the benchmarks ask of that fleet and replays
 * it from memory; `node bench/serve.ts pager COUNT` serves a listing of COUNT units in fleet's page format with
 * tokens of its own (`bench/pager.ts`: no fleet lists past item 65,535). Either prints `{"url": ...}` on one line once
 * it listens, and runs until killed or until its stdin closes (its parent is gone).
 */
import type * as net from "node:net"
import { Effect, Layer } from "effect"
import * as FleetServer from "../src/FleetServer.ts"
import { seedUnits } from "./lib.ts"
import { servePager } from "./pager.ts"
import { record, serveRecording } from "./static.ts"

const [mode, arg, extra] = process.argv.slice(2)

const announce = (url: string) => process.stdout.write(`${JSON.stringify({ url })}\n`)

process.stdin.on("close", () => process.exit(0))
process.stdin.resume()

if (mode === "fleet") {
  const count = Number(arg ?? 10_000)
  const program = Effect.gen(function* () {
    const server = yield* FleetServer.FleetServer
    announce(server.url)
    return yield* Effect.never
  }).pipe(
    Effect.provide(
      Layer.fresh(FleetServer.layer({ port: 0, tokenLimit: 100, agents: "off", seed: { units: seedUnits(count) } }))
    )
  )
  process.once("SIGTERM", () => process.exit(0))
  Effect.runFork(program)
} else if (mode === "pager") {
  const server = servePager(seedUnits(Number(arg ?? 100_000)))
  process.once("SIGTERM", () => server.close(() => process.exit(0)))
  server.listen(0, "127.0.0.1", () => announce(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`))
} else if (mode === "static" && arg !== undefined) {
  const recording = await record(arg, Number(extra ?? 2_000))
  const server = await serveRecording(recording)
  process.once("SIGTERM", () => server.close(() => process.exit(0)))
  announce(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`)
} else {
  process.stderr.write("usage: node bench/serve.ts fleet COUNT | static FLEET_URL [GETS] | pager COUNT\n")
  process.exit(2)
}
