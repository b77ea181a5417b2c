/**
 * Helpers for tests against the local fleet server: waiting on its request log, and counting the sockets still open
 * to a port (both ends, any state but TIME_WAIT), so suites can prove they leak none.
 */
import * as fs from "node:fs"
import { Duration, Effect } from "effect"
import type { FleetControlService } from "../../src/FleetControl.ts"

const socketTables = ["/proc/net/tcp", "/proc/net/tcp6"]

// TCP states from the kernel's tcp_states.h: 06 is TIME_WAIT (no descriptor left), 0A is LISTEN.
const ignoredStates = new Set(["06", "0A"])

/** Sockets of this machine with `port` at either end that still hold a descriptor somewhere. */
export const openSocketsOn = (port: number): number => {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`
  let count = 0
  for (const table of socketTables) {
    let text: string
    try {
      text = fs.readFileSync(table, "utf8")
    } catch {
      continue
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/)
      if (fields.length < 4 || ignoredStates.has(fields[3] ?? "")) continue
      if (fields[1]?.endsWith(hex) === true || fields[2]?.endsWith(hex) === true) count++
    }
  }
  return count
}

/** TCP sockets and pipes node holds open in this process. */
export const activeSockets = (): number =>
  process.getActiveResourcesInfo().filter((name) => name === "TCPSocketWrap" || name === "PipeWrap").length

/** Polls `check` until it holds or `within` passes; fails with `what` then. Not a timing assertion: a deadline. */
export const eventually = (check: Effect.Effect<boolean>, what: string, within: Duration.Input = "5 seconds") =>
  Effect.gen(function* () {
    const deadline = Date.now() + Duration.toMillis(Duration.fromInputUnsafe(within))
    while (!(yield* check)) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for ${what}`))
      yield* Effect.sleep("10 millis")
    }
  })

/** Waits until the local fleet has received `count` more requests than `from`. */
export const requestsSeen = (control: FleetControlService, from: number, count: number) =>
  eventually(
    Effect.map(control.requestCount, (n) => n >= from + count),
    `${count} more requests`
  )
