/**
 * A process making first SSH connections under `accept-new` at the same moment as others:
 * `acceptNewChild.ts <port> <privateKeyFile> <knownHostsFile> <count> <startAt>` connects `count` times at once to
 * 127.0.0.1:<port>, starting at `startAt` (ms since the epoch), and exits 0 when every connection was made.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as SshConnection from "../../src/SshConnection.ts"

const [port = "", keyFile = "", knownHostsFile = "", count = "5", startAt = "0"] = process.argv.slice(2)
while (Date.now() < Number(startAt)) {
  // Spin: the processes start within a few milliseconds of each other.
}
const connect = SshConnection.make({
  tunnel: `127.0.0.1:${port}`,
  username: "root",
  agent: "",
  privateKey: Redacted.make(fs.readFileSync(keyFile, "utf8")),
  knownHostsFile,
  strictHostKeyChecking: "accept-new"
}).pipe(Effect.scoped)
await Effect.runPromise(
  Effect.all(
    Array.from({ length: Number(count) }, () => connect),
    { concurrency: "unbounded" }
  )
)
