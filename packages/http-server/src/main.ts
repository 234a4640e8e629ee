#!/usr/bin/env -S node --max-semi-space-size=2
/**
 * The `facedet-server` command: the composition root. All logic lives in `Server.main`.
 *
 * The line above caps V8's young generation at 2 MB semi-spaces (16 MB by default, which a server's allocation rate
 * reaches within seconds): about 30 MB less peak memory, no throughput lost (README, "Per-task cost"). npm's links
 * and pnpm's shims both pass it on; `node dist/main.js` run by hand does not.
 */
import { main } from "./Server.js"

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`facedet: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  }
)
