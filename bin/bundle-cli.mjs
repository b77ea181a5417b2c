#!/usr/bin/env node
// Bundles the compiled CLI (dist/bin.js) and the modules it loads into dist/cli/ (run by `npm run build`, after tsc).
// `effect-fleet list-units` spends most of its start-up resolving, reading and compiling the ~500 files of effect,
// @effect/platform-node and undici; loaded from a few bundled files it starts in about 60% of the CPU time.
// bin/effect-fleet.js runs the bundle when it exists. Without rolldown (a dev dependency) this prints why and
// leaves dist/ as tsc wrote it, and the bin runs dist/bin.js.
import { createRequire } from "node:module"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")
const outDir = path.join(root, "dist", "cli-bundle")

let rolldown
try {
  rolldown = await import("rolldown")
} catch {
  process.stderr.write("bundle-cli: rolldown is not installed; the CLI runs unbundled from dist/bin.js\n")
  process.exit(0)
}

// platform-node's Undici module is `export * from "undici"`, a CommonJS module whose names a bundler cannot list
// statically: give it a module that names undici's exports, read from undici itself.
const undiciId = "\0effect-fleet:undici"
const undiciNames = Object.keys(createRequire(path.join(root, "package.json"))("undici")).filter((name) =>
  /^[A-Za-z_$][\w$]*$/.test(name)
)
const undiciModule =
  'import Undici from "undici"\nexport default Undici\n' +
  undiciNames.map((name) => `export const ${name} = Undici.${name}\n`).join("")

const bundle = await rolldown.rolldown({
  input: path.join(root, "dist", "bin.js"),
  platform: "node",
  // ssh2 loads optional native addons by path; it stays a package, loaded only by the SSH commands and --tunnel.
  external: ["ssh2", "cpu-features"],
  // The CLI imports a module both ways on purpose (statically for its commands' flags, dynamically elsewhere).
  onLog: (level, log, handler) => {
    if (log.code !== "INEFFECTIVE_DYNAMIC_IMPORT") handler(level, log)
  },
  plugins: [
    {
      name: "effect-fleet-undici",
      resolveId: (id) => (id === "@effect/platform-node/Undici" ? undiciId : null),
      load: (id) => (id === undiciId ? undiciModule : null)
    }
  ]
})
await bundle.write({ dir: outDir, format: "esm", entryFileNames: "bin.js", chunkFileNames: "[name]-[hash].js" })
await bundle.close()
