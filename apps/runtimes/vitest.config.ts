import { defineConfig, mergeConfig } from "vitest/config"
import shared from "../../vitest.shared.ts"

// Each case starts a runtime (or a browser) that runs five calls against a real detection server, while turbo runs
// every other package's suite on the same cores: a first Chromium launch there took 32 s in CI.
export default mergeConfig(shared, defineConfig({ test: { testTimeout: 120_000 } }))
