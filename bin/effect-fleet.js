#!/usr/bin/env node
// Which build runs: the bundle that `npm run build` writes (bin/bundle-cli.mjs) when it is at least as new as the
// compiled dist/bin.js (a later bare `tsc` must not leave a stale bundle running), else dist/bin.js, else, in a
// checkout without a build, the TypeScript source (Node 22 strips the types).
import { mkdirSync, statSync } from "node:fs"
import * as module from "node:module"
import * as os from "node:os"
import * as path from "node:path"

// Created one level at a time: Node's recursive mkdir (which enableCompileCache also uses) never returns for some
// paths, such as one under /proc. Any failure means no cache.
const ensureDir = (dir, depth = 0) => {
  try {
    mkdirSync(dir)
    return true
  } catch (error) {
    if (error.code === "EEXIST") return statSync(dir).isDirectory()
    const parent = path.dirname(dir)
    if (error.code !== "ENOENT" || parent === dir || depth > 32 || !ensureDir(parent, depth + 1)) return false
    try {
      mkdirSync(dir)
      return true
    } catch {
      return false
    }
  }
}

// Every command pays for compiling the same few megabytes of JavaScript; Node's compile cache keeps V8's code in a
// per-user directory between runs (NODE_COMPILE_CACHE picks another, NODE_DISABLE_COMPILE_CACHE turns it off). An
// unusable directory only means no cache: Node reports a failure to write it in the status it returns.
try {
  const dir =
    process.env.NODE_COMPILE_CACHE ||
    path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "effect-fleet", "compile-cache")
  if (!process.env.NODE_DISABLE_COMPILE_CACHE && ensureDir(path.resolve(dir))) module.enableCompileCache?.(dir)
} catch {
  // os.homedir() throws without HOME and a passwd entry: no cache.
}

const mtime = (relative) => statSync(new URL(relative, import.meta.url), { throwIfNoEntry: false })?.mtimeMs
const compiled = mtime("../dist/bin.js")
const bundled = mtime("../dist/cli-bundle/bin.js")

await import(
  compiled === undefined
    ? "../src/bin.ts"
    : bundled !== undefined && bundled >= compiled
      ? "../dist/cli-bundle/bin.js"
      : "../dist/bin.js"
)
