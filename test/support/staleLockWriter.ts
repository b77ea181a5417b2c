/**
 * One writer of the stale-lock race: `staleLockWriter.ts <file> <id> <startAt> <log>` waits for `startAt` (ms since
 * the epoch), takes the file's lock as every writer does, and logs `enter <id>` and `exit <id>` around a short stay
 * holding it, so that a test can see whether two writers ever held it at once.
 */
import * as fs from "node:fs"
import { setTimeout as sleep } from "node:timers/promises"
import * as KnownHosts from "../../src/internal/ssh/knownHosts.ts"

const [file = "", id = "0", startAt = "0", log = ""] = process.argv.slice(2)
while (Date.now() < Number(startAt)) {
  // Spin: the processes start within a few milliseconds of each other.
}
await KnownHosts.exclusive(file, async () => {
  fs.appendFileSync(log, `enter ${id}\n`)
  await sleep(30)
  fs.appendFileSync(log, `exit ${id}\n`)
})
