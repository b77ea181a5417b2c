/**
 * A process writing to a known_hosts file at the same moment as others, for the cross-process tests:
 * `knownHostsWriter.ts <file> <id> <count> <startAt>` adds `count` lines of its own and tries `count` times to add
 * one line every writer shares, all at once, starting at `startAt` (ms since the epoch) so that the processes meet.
 */
import * as KnownHosts from "../../src/internal/ssh/knownHosts.ts"

const [file = "", id = "0", count = "10", startAt = "0"] = process.argv.slice(2)
const key = (n: number) => Buffer.from(`ssh-ed25519-test-key-${n}`).toString("base64")

/** Adds the line unless the file has it: the read and the append together, with the file to itself. */
export const addOnce = (target: string, line: string) =>
  KnownHosts.exclusive(target, async () => {
    const text = (await KnownHosts.readFile(target)) ?? ""
    if (!text.split("\n").includes(line.trimEnd())) await KnownHosts.appendLine(target, line)
  })

if (file !== "") {
  while (Date.now() < Number(startAt)) {
    // Spin: the processes start within a few milliseconds of each other.
  }
  const own = Array.from({ length: Number(count) }, (_, i) => `[10.0.${id}.${i}]:2222 ssh-ed25519 ${key(i)}\n`)
  const shared = `10.9.9.9 ssh-ed25519 ${key(999)}\n`
  await Promise.all([...own, ...own.map(() => shared)].map((line) => addOnce(file, line)))
}
