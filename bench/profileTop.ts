/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, e.g. of `bench/profile.ts`): self time by function and by file,
 * and total (inclusive) time of the functions in effect-fleet's own files, so that the costs left can be named by
 * file and function.
 *
 * `npx node bench/profileTop.ts /tmp/prof/CPU.*.cpuprofile [ROWS]`
 */
import * as fs from "node:fs"

interface ProfileNode {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
  }
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const [file, rowsArg] = process.argv.slice(2)
if (file === undefined) {
  process.stderr.write("usage: node bench/profileTop.ts PROFILE.cpuprofile [ROWS]\n")
  process.exit(2)
}
const rows = Number(rowsArg ?? 30)
const profile = JSON.parse(fs.readFileSync(file, "utf8")) as Profile

const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const parent = new Map<number, number>()
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

/** Microseconds of samples that landed in each node. */
const selfTime = new Map<number, number>()
for (let i = 0; i < profile.samples.length; i++) {
  const delta = profile.timeDeltas[i] ?? 0
  selfTime.set(profile.samples[i]!, (selfTime.get(profile.samples[i]!) ?? 0) + delta)
}
const isIdle = (node: ProfileNode) => node.callFrame.functionName === "(idle)"
// Percentages are of the busy time: idle samples are waits for the server.
let total = 0
for (const [id, micros] of selfTime) if (!isIdle(byId.get(id)!)) total += micros

const shortUrl = (url: string): string =>
  url
    .replace(/^file:\/\//, "")
    .replace(/^.*\/node_modules\//, "")
    .replace(/^.*\/(src|dist|bench)\//, "$1/")
const frameKey = (node: ProfileNode): string =>
  `${node.callFrame.functionName || "(anonymous)"} ${shortUrl(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`
const fileKey = (node: ProfileNode): string => shortUrl(node.callFrame.url) || `(${node.callFrame.functionName})`
const isOwn = (url: string): boolean =>
  url.startsWith("file://") && /\/(src|dist)\//.test(url) && !url.includes("node_modules")
/** The package (or node's internals, or effect-fleet itself) a frame belongs to. */
const packageKey = (node: ProfileNode): string => {
  const url = node.callFrame.url
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?:dist\/)?([^/]+)?/.exec(url)
  if (inModules !== null) {
    // effect's own modules are told apart (core runtime, http, Schema, ...).
    return inModules[1] === "effect" || inModules[1] === "@effect/platform-node"
      ? `${inModules[1]}/${inModules[2]}`
      : inModules[1]!
  }
  if (isOwn(url)) return "effect-fleet"
  if (url.startsWith("node:")) return "node internals"
  return `(${node.callFrame.functionName || "native"})`
}

const add = (map: Map<string, number>, key: string, value: number) => map.set(key, (map.get(key) ?? 0) + value)

const selfByFrame = new Map<string, number>()
const selfByFile = new Map<string, number>()
const selfByPackage = new Map<string, number>()
/** Inclusive time of frames in effect-fleet's files (src/ or dist/), counted once per sample however deep. */
const inclusiveOwn = new Map<string, number>()
for (const [id, micros] of selfTime) {
  const node = byId.get(id)!
  if (isIdle(node)) continue
  add(selfByFrame, frameKey(node), micros)
  add(selfByFile, fileKey(node), micros)
  add(selfByPackage, packageKey(node), micros)
  const seen = new Set<string>()
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const frame = byId.get(at)!
    if (!isOwn(frame.callFrame.url)) continue
    const key = frameKey(frame)
    if (seen.has(key)) continue
    seen.add(key)
    add(inclusiveOwn, key, micros)
  }
}

const print = (title: string, map: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`)
  for (const [key, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    process.stdout.write(
      `${(micros / 1000).toFixed(1).padStart(9)} ms ${((micros / total) * 100).toFixed(1).padStart(5)}%  ${key}\n`
    )
  }
}

process.stdout.write(`${file}: ${(total / 1000).toFixed(0)} ms busy (idle left out)\n`)
print("self time by package", selfByPackage)
print("self time by function", selfByFrame)
print("self time by file", selfByFile)
print("inclusive time of effect-fleet's own functions", inclusiveOwn)

// Who calls the costliest functions (two frames up), so that a native or library cost can be traced to a caller.
const top = [...selfByFrame].sort((a, b) => b[1] - a[1]).slice(0, 5)
for (const [key] of top) {
  const callers = new Map<string, number>()
  for (const [id, micros] of selfTime) {
    const node = byId.get(id)!
    if (frameKey(node) !== key) continue
    const up1 = parent.get(id)
    const up2 = up1 === undefined ? undefined : parent.get(up1)
    const chain = [up1, up2].flatMap((at) => (at === undefined ? [] : [frameKey(byId.get(at)!)])).join(" <- ")
    add(callers, chain, micros)
  }
  print(`callers of ${key}`, new Map([...callers].slice(0, 5)))
}
