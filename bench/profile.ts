/**
 * Runs one effect-fleet workload in a loop for a CPU profile, with the servers in child processes so that the
 * profile holds only client work: `npx node --cpu-prof --cpu-prof-dir=/tmp/prof bench/profile.ts list|get|create`.
 */
import { Effect, ManagedRuntime, Stream } from "effect"
import * as Fleet from "../src/Fleet.ts"
import { poolSize, serve } from "./lib.ts"
import { createdCount, createdName } from "./static.ts"
import { makeUnit } from "./create.ts"

const workload = process.argv[2] ?? "list"
const iterations = Number(process.argv[3] ?? 20)

const fleet = await serve("fleet", "10000")
const replay = await serve("static", fleet.url, "2000")
const runtime = ManagedRuntime.make(Fleet.layer(replay.url, { connections: poolSize }))

const names = Array.from({ length: 2_000 }, (_, i) => `bench-${String(i).padStart(6, "0")}.service`)
const unit = makeUnit()

const once: Effect.Effect<unknown, unknown, Fleet.Fleet> =
  workload === "list"
    ? Fleet.listUnits().pipe(Stream.runCount)
    : workload === "get"
      ? Effect.forEach(names, (name) => Fleet.getUnit(name), { discard: true })
      : Effect.forEach(
          Array.from({ length: createdCount }, (_, i) => createdName(i)),
          (name) => Fleet.createUnit(name, unit),
          { concurrency: "unbounded", discard: true }
        )

try {
  for (let i = 0; i < iterations; i++) {
    const start = performance.now()
    await runtime.runPromise(once)
    process.stdout.write(`${workload} ${i}: ${(performance.now() - start).toFixed(1)} ms\n`)
  }
} finally {
  await runtime.dispose()
  await replay.stop()
  await fleet.stop()
}
