#!/usr/bin/env node
// `pnpm fuzz [--minutes N] [--cases N]`: runs the detector's media fuzzing (packages/detector/test/Fuzz.test.ts)
// again and again with fresh seeds until the time is up. A failing case stops the run; its input is saved under
// fuzz-failures/ and the seed printed, so `FACEDET_FUZZ_SEED=<seed> pnpm --filter @facedet/detector exec vitest run
// test/Fuzz.test.ts` replays it.
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
const saveDir = join(root, "fuzz-failures")
const deadline = Date.now() + minutes * 60_000
const totals = new Map()
let rounds = 0
while (Date.now() < deadline) {
  const seed = randomInt(1, 2 ** 31)
  const run = spawnSync(
    process.execPath,
    [join(root, "packages", "detector", "node_modules", "vitest", "vitest.mjs"), "run", "test/Fuzz.test.ts"],
    {
      cwd: join(root, "packages", "detector"),
      env: {
        ...process.env,
        FACEDET_FUZZ_SEED: String(seed),
        FACEDET_FUZZ_CASES: String(cases),
        FACEDET_FUZZ_SAVE_DIR: saveDir
      },
      encoding: "utf8"
    }
  )
  rounds++
  for (const m of run.stdout.matchAll(/fuzz (\w+): (\d+) cases, (\d+) detected, (\d+) typed errors/g)) {
    const t = totals.get(m[1]) ?? { cases: 0, detected: 0, typed: 0 }
    totals.set(m[1], {
      cases: t.cases + Number(m[2]),
      detected: t.detected + Number(m[3]),
      typed: t.typed + Number(m[4])
    })
  }
  if (run.status !== 0) {
    console.error(run.stdout.slice(-4000), run.stderr.slice(-2000))
    console.error(
      `fuzz: a case failed with seed ${seed}; its input is under ${saveDir} (replay: FACEDET_FUZZ_SEED=${seed})`
    )
    process.exit(1)
  }
  console.log(`fuzz: round ${rounds} (seed ${seed}) passed`)
}
for (const [format, t] of totals) {
  console.log(`fuzz ${format}: ${t.cases} cases, ${t.detected} detected, ${t.typed} typed errors, 0 crashes, 0 hangs`)
}
