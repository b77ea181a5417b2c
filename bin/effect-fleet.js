#!/usr/bin/env node
// The published package runs the compiled CLI; a checkout without a build runs the TypeScript source directly
// (Node 22 strips the types).
import { existsSync } from "node:fs"

await import(existsSync(new URL("../dist/bin.js", import.meta.url)) ? "../dist/bin.js" : "../src/bin.ts")
