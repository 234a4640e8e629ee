import { defineConfig, mergeConfig } from "vitest/config"
import shared from "../../vitest.shared.ts"

// The end-to-end tests start the built command (and a server) as child processes, several at a time; on a busy
// 2-core machine one start can take seconds, so they get more than the shared 30 s.
export default mergeConfig(shared, defineConfig({ test: { testTimeout: 90_000 } }))
