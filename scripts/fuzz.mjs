#!/usr/bin/env node
// `pnpm fuzz [--minutes N] [--cases N]`: runs the media fuzzing again and again with fresh seeds until the time is
// up: the detector's images (packages/detector/test/Fuzz.test.ts) and videos (VideoFuzz.test.ts), and the same
// mutations through a real server (packages/http-server/test/MediaFuzz.test.ts). `--cases` is per format and
// round for images; videos and the server take a quarter of it (each case runs ffmpeg or a whole task). A failing
// case stops the run; its input is saved under fuzz-failures/ and the seed printed, so
// `FACEDET_FUZZ_SEED=<seed> pnpm --filter <package> exec vitest run <file>` replays it.
import { spawnSync } from "node:child_process"
import { randomInt } from "node:crypto"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const { values } = parseArgs({
  // `pnpm fuzz -- --minutes 5` passes the `--` on.
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: { minutes: { type: "string", default: "10" }, cases: { type: "string", default: "200" } },
  strict: true
})
const minutes = Number(values.minutes)
const cases = Number(values.cases)
if (!(minutes > 0) || !(cases > 0)) {
  console.error("usage: pnpm fuzz [--minutes N] [--cases N]   (N > 0)")
  process.exit(2)
}
const suites = [
  { pkg: "detector", file: "test/Fuzz.test.ts", cases },
  { pkg: "detector", file: "test/VideoFuzz.test.ts", cases: Math.max(1, Math.round(cases / 4)) },
  { pkg: "http-server", file: "test/MediaFuzz.test.ts", cases: Math.max(1, Math.round(cases / 4)) }
]
const saveDir = join(root, "fuzz-failures")
const deadline = Date.now() + minutes * 60_000
/** Per suite and format: cases tried and outcomes, from the lines each test prints. */
const totals = new Map()
let rounds = 0
while (Date.now() < deadline) {
  for (const suite of suites) {
    if (Date.now() >= deadline) break
    const seed = randomInt(1, 2 ** 31)
    const cwd = join(root, "packages", suite.pkg)
    const run = spawnSync(process.execPath, [join(cwd, "node_modules", "vitest", "vitest.mjs"), "run", suite.file], {
      cwd,
      env: {
        ...process.env,
        FACEDET_FUZZ_SEED: String(seed),
        FACEDET_FUZZ_CASES: String(suite.cases),
        FACEDET_FUZZ_SAVE_DIR: saveDir
      },
      encoding: "utf8"
    })
    for (const m of run.stdout.matchAll(/^fuzz ((?:server )?\w+): (\d+) cases, (.*)$/gm)) {
      const key = `${suite.pkg} ${m[1]}`
      const t = totals.get(key) ?? { cases: 0, outcomes: new Map() }
      t.cases += Number(m[2])
      // Either `{"Tag":n,...}` or `n detected, n typed errors`.
      const tail = m[3]
      const pairs = tail.startsWith("{")
        ? Object.entries(JSON.parse(tail))
        : [...tail.matchAll(/(\d+) ([a-z ]+?)(?:,|$)/g)].map((p) => [p[2], Number(p[1])])
      for (const [name, n] of pairs) t.outcomes.set(name, (t.outcomes.get(name) ?? 0) + Number(n))
      totals.set(key, t)
    }
    if (run.status !== 0) {
      console.error(run.stdout.slice(-4000), run.stderr.slice(-2000))
      console.error(
        `fuzz: ${suite.pkg}/${suite.file} failed with seed ${seed}; its input is under ${saveDir} (replay: FACEDET_FUZZ_SEED=${seed} FACEDET_FUZZ_CASES=${suite.cases})`
      )
      process.exit(1)
    }
  }
  rounds++
  console.log(`fuzz: round ${rounds} passed`)
}
for (const [key, t] of totals) {
  const outcomes = [...t.outcomes].map(([name, n]) => `${n} ${name}`).join(", ")
  console.log(`fuzz ${key}: ${t.cases} cases (${outcomes}), 0 crashes, 0 hangs`)
}
