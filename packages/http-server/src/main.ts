#!/usr/bin/env node
/**
 * The `facedet-server` command: the composition root. All logic lives in `Server.main`.
 */
import { main } from "./Server.js"

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`facedet: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  }
)
