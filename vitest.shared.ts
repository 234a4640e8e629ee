import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// Shared by every package's vitest.config.ts: tests live in test/ and mirror src/.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: [fileURLToPath(new URL("./vitest.setup.ts", import.meta.url))],
    globalSetup: [fileURLToPath(new URL("./vitest.global.ts", import.meta.url))],
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
