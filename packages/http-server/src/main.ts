#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=100
/**
 * The `facedet-server` command: the composition root. All logic lives in `Server.main`.
 *
 * The line above sets two of V8's garbage-collection limits (README, "Per-task cost"); npm's links and pnpm's shims
 * both pass them on, `node dist/main.js` run by hand does not:
 * - 2 MB semi-spaces for the young generation (16 MB by default, which a server's allocation rate reaches within
 *   seconds): about 30 MB less peak memory, no throughput lost.
 * - A full collection once the old generation has doubled since the last one, instead of letting it grow up to four
 *   times on a small heap: the decoded images and downloads that outlive a young collection are freed there, and
 *   otherwise wait until their memory has grown by 64 MB. About 40 MB less peak memory under a burst of tasks, for
 *   about 1 ms of CPU per task.
 */
import { main } from "./Server.js"

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`facedet: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  }
)
