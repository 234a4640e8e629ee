#!/usr/bin/env node
// Runs every benchmark suite in turn (one at a time: they measure CPU time and must not share the cores).
// `pnpm bench` runs all; `pnpm bench -- <suite>` runs one, and options after the suite names go to the suites
// (`pnpm bench -- soak --minutes 5`). Each suite is src/<suite>/main.ts, run with tsx.
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
// Run only when named: the soak takes half an hour.
const onDemand = new Set(["soak"])
const args = process.argv.slice(2).filter((a) => a !== "--")
const firstOption = args.findIndex((a) => a.startsWith("-"))
const wanted = firstOption < 0 ? args : args.slice(0, firstOption)
const forwarded = firstOption < 0 ? [] : args.slice(firstOption)
const suites = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(here, d.name, "main.ts")))
  .map((d) => d.name)
  .filter((name) => (wanted.length === 0 ? !onDemand.has(name) : wanted.includes(name)))
  .sort()
if (suites.length === 0) {
  console.error(wanted.length ? `no such benchmark suite: ${wanted.join(", ")}` : "no benchmark suites yet")
  process.exit(wanted.length ? 2 : 0)
}
let failed = false
for (const suite of suites) {
  console.log(`\n=== bench: ${suite} ===`)
  const r = spawnSync(process.execPath, ["--import", "tsx", join(here, suite, "main.ts"), ...forwarded], {
    stdio: "inherit"
  })
  if (r.status !== 0) failed = true
}
process.exit(failed ? 1 : 0)
