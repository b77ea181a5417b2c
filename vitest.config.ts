import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    // `import ... from "effect-fleet"` in tests and examples resolves to the TypeScript source, not dist/
    conditions: ["effect-fleet-source"]
  },
  ssr: {
    resolve: { conditions: ["effect-fleet-source"], externalConditions: ["effect-fleet-source"] }
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
