#!/usr/bin/env node
// Runs turbo with `pnpm` on PATH. turbo starts every package script through the `pnpm` binary, but
// `corepack pnpm <script>` (our quick start, on a machine with only Node.js) puts no `pnpm` on PATH:
// point a tiny shim at the pnpm that is running us (npm_execpath).
import { spawnSync } from "node:child_process"
import { chmodSync, mkdirSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { delimiter, dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const env = { ...process.env }
const hasPnpm = spawnSync("pnpm", ["--version"], { stdio: "ignore", shell: false }).status === 0
const execPath = env.npm_execpath
if (!hasPnpm) {
  const binDir = join(root, "node_modules", ".cache", "facedet-bin")
  mkdirSync(binDir, { recursive: true })
  const shim = join(binDir, "pnpm")
  // Run by pnpm: reuse that pnpm. Otherwise (`node scripts/turbo.mjs`, `pnpm exec`): ask corepack.
  const target = execPath?.includes("pnpm") ? `"${process.execPath}" "${execPath}"` : "corepack pnpm"
  writeFileSync(shim, `#!/bin/sh\nexec ${target} "$@"\n`)
  chmodSync(shim, 0o755)
  env.PATH = `${binDir}${delimiter}${env.PATH ?? ""}`
}
const turbo = createRequire(import.meta.url).resolve("turbo/bin/turbo")
const result = spawnSync(process.execPath, [turbo, ...process.argv.slice(2)], { stdio: "inherit", env, cwd: root })
process.exit(result.status ?? 1)
