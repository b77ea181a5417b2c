import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"

// Every relative import of every module under src/: static, type-only, re-exports and dynamic `import()` alike.
const specifiers = (source: string): Array<string> => [
  ...[...source.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/gm)].map((m) => m[1]!),
  ...[...source.matchAll(/^\s*import\s*["']([^"']+)["']/gm)].map((m) => m[1]!),
  ...[...source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!)
]

const sourceFiles = (dir: string): Array<string> =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory()
        ? sourceFiles(path.join(dir, entry.name))
        : entry.name.endsWith(".ts")
          ? [path.join(dir, entry.name)]
          : []
    )

const importGraph = (root: string): Map<string, Array<string>> => {
  const graph = new Map<string, Array<string>>()
  for (const file of sourceFiles(root)) {
    const edges = specifiers(fs.readFileSync(file, "utf8"))
      .filter((specifier) => specifier.startsWith("."))
      .map((specifier) => path.relative(root, path.resolve(path.dirname(file), specifier)))
    graph.set(path.relative(root, file), [...new Set(edges)])
  }
  return graph
}

/** Every cycle found by a depth-first walk, each as the path that closes it (`a -> b -> a`). */
const cycles = (graph: Map<string, Array<string>>): Array<string> => {
  const found: Array<string> = []
  const state = new Map<string, "visiting" | "done">()
  const stack: Array<string> = []
  const visit = (node: string) => {
    state.set(node, "visiting")
    stack.push(node)
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "visiting") found.push([...stack.slice(stack.indexOf(next)), next].join(" -> "))
      else if (state.get(next) === undefined) visit(next)
    }
    stack.pop()
    state.set(node, "done")
  }
  for (const node of [...graph.keys()].sort()) if (state.get(node) === undefined) visit(node)
  return found
}

describe("the import graph of src/", () => {
  it("has no cycle, type-only and dynamic imports included", () => {
    const graph = importGraph("src")
    expect(graph.size).toBeGreaterThan(20)
    // the checker sees edges of every kind: a type-only import, a multi-line import and a dynamic import
    expect(graph.get("internal/client/stateSnapshot.ts")).toContain("internal/client/service.ts")
    expect(graph.get("Fleet.ts")).toContain("FleetError.ts")
    expect(graph.get("internal/client/lazy.ts")).toContain("FleetSsh.ts")
    expect(cycles(graph)).toEqual([])
  })

  it("the checker reports a cycle when there is one", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts"]],
      ["d.ts", ["a.ts"]]
    ])
    expect(cycles(graph)).toEqual(["a.ts -> b.ts -> c.ts -> a.ts"])
  })

  it("importing Fleet loads no SSH code, ssh2, platform-node or Effect's HTTP client", async () => {
    const script = `
      import { registerHooks } from "node:module"
      const loaded = []
      registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context) } })
      await import("./src/Fleet.ts")
      process.stdout.write(JSON.stringify(loaded))`
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ["--conditions=effect-fleet-source", "--input-type=module", "-e", script],
        (error, out) => (error === null ? resolve(out) : reject(error))
      )
    )
    const loaded: Array<string> = JSON.parse(stdout)
    expect(loaded.some((url) => url.endsWith("/src/Fleet.ts"))).toBe(true)
    // tunnelFailure.ts is the error class the failure classifier recognises: a dozen lines, no ssh2
    const transportCode = loaded.filter(
      (url) =>
        /ssh2|FleetSsh|internal\/ssh\/|platform-node|FleetTransport/.test(url) && !url.endsWith("/tunnelFailure.ts")
    )
    expect(transportCode).toEqual([])
    // Fleet.layer sends on undici directly: Effect's HTTP client is loaded only for Fleet.layerHttpClient (Schema
    // itself loads the headers and URL parameter modules)
    expect(loaded.filter((url) => /\/effect\/dist\/http\/(HttpClient|HttpBody)/.test(url))).toEqual([])
    expect(loaded.some((url) => url.endsWith("/effect/dist/Schema.js"))).toBe(true)
  })
})

// What a public module imports from `./internal/` may implement its exports but not name their types: a type alias
// of an internal declaration, or a const typed (or left to be typed) by an internal one, puts `import ... from
// "./internal/..."` into the published `.d.ts`. Each finding is `Module.ts: the declaration's first line`.
const internalTypesInPublicSignatures = (file: string, source: string): Array<string> => {
  const internal = [
    ...source.matchAll(/^import\s+(?:type\s+)?([^;]*?)\s+from\s*["'](\.\/internal\/[^"']+)["']/gm)
  ].flatMap((m) =>
    m[1]!
      .replace(/^\*\s+as\s+/, "")
      .replace(/[{}]/g, "")
      .split(",")
      .map((name) =>
        name
          .replace(/^\s*type\s+/, "")
          .split(/\s+as\s+/)
          .pop()!
          .trim()
      )
      .filter((name) => name !== "")
  )
  if (internal.length === 0) return []
  const names = internal.map((name) => name.replace(/\$/g, "\\$")).join("|")
  const leaks = new RegExp(
    String.raw`^export\s+(?:type\s+\w+(?:<[^=]*>)?\s*=\s*(?:typeof\s+)?(?:${names})\b|const\s+\w+\s*(?::\s*typeof\s+(?:${names})\b|=\s*(?:${names})\b))`,
    "gm"
  )
  return [...source.matchAll(leaks)].map((m) => `${path.basename(file)}: ${m[0]}`)
}

describe("the public modules' signatures", () => {
  it("name no type declared in an internal module", () => {
    const publicModules = fs
      .readdirSync("src")
      .filter((name) => name.endsWith(".ts"))
      .map((name) => path.join("src", name))
    expect(publicModules.length).toBeGreaterThan(10)
    const found = publicModules.flatMap((file) => internalTypesInPublicSignatures(file, fs.readFileSync(file, "utf8")))
    expect(found).toEqual([])
  })

  it("the check finds an alias, a typeof and an unannotated const of an internal declaration", () => {
    const source = [
      'import * as model from "./internal/client/units/model.ts"',
      'import { type Page, other as renamed } from "./internal/client/service.ts"',
      'import * as Public from "./FleetOptions.ts"',
      "export type Options = model.Options",
      "export type Listing<A> = Page<A>",
      "export const waitAll: typeof model.waitAll = model.waitAll",
      "export const other = renamed",
      "export const typed: (n: number) => string = model.render",
      "export type Fine = Public.LayerOptions"
    ].join("\n")
    expect(internalTypesInPublicSignatures("src/X.ts", source)).toEqual([
      "X.ts: export type Options = model",
      "X.ts: export type Listing<A> = Page",
      "X.ts: export const waitAll: typeof model",
      "X.ts: export const other = renamed"
    ])
  })
})
