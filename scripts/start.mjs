#!/usr/bin/env node
// `pnpm start`: builds @facedet/http-server and what it depends on (turbo caches, so an up-to-date build takes a
// moment), then runs its `facedet-server` entry (with the node options of its first line) with the same arguments
// and environment, forwarding signals and the exit code. The server runs in its own process group so a terminal's
// Ctrl-C reaches it once (from here), not twice.
import { spawn, spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { constants } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const build = spawnSync(
  process.execPath,
  [join(root, "scripts", "turbo.mjs"), "run", "build", "--filter=@facedet/http-server...", "--output-logs=errors-only"],
  { cwd: root, stdio: ["ignore", "inherit", "inherit"] }
)
if (build.status !== 0) {
  console.error("start: building @facedet/http-server failed (see above)")
  process.exit(build.status ?? 1)
}

const main = join(root, "packages", "http-server", "dist", "main.js")
// The node options on the entry's first line (`#!/usr/bin/env -S node ...`), as the installed `facedet-server` runs.
const flags = (/^#!\/usr\/bin\/env -S node(.*)$/.exec(readFileSync(main, "utf8").split("\n", 1)[0])?.[1] ?? "")
  .split(" ")
  .filter((flag) => flag !== "")
// `pnpm start -- --port 9000` hands the `--` on too; the server's own parser would refuse it.
const args = process.argv.slice(2)
if (args[0] === "--") args.shift()
const server = spawn(process.execPath, [...flags, main, ...args], {
  stdio: "inherit",
  detached: true
})
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => server.kill(signal))
}
server.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1)))
