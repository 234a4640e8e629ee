/**
 * The orphan sweep: files no record owns (a crash between writing a task's files and recording the task, then a
 * failed retry) are removed once older than the media lifetime plus a margin; anything younger stays.
 */
import { existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as DataDir from "../src/internal/dataDir.js"
import * as Orphans from "../src/internal/orphans.js"
import { tempDir } from "./support.js"

const hour = 3_600_000

describe("orphan sweep", () => {
  it("removes files older than the media lifetime plus the margin, and their empty crop directories", async () => {
    const layout = DataDir.layout(tempDir())
    DataDir.prepare(layout)
    const now = Date.now()
    const file = (path: string, ageMs: number) => {
      mkdirSync(join(path, ".."), { recursive: true })
      writeFileSync(path, "x")
      const at = (now - ageMs) / 1000
      utimesSync(path, at, at)
      return path
    }
    const old = hour + Orphans.marginMs + 60_000
    const young = hour + Orphans.marginMs - 60_000
    const stale = [
      file(join(layout.sources, "deadtask00000000001"), old),
      file(join(layout.uploads, "A".repeat(32)), old),
      file(join(layout.crops, "deadtask00000000001", "0.jpg"), old)
    ]
    const live = [
      file(join(layout.sources, "livetask00000000001"), young),
      file(join(layout.uploads, "B".repeat(32)), 0),
      file(join(layout.crops, "livetask00000000001", "0.jpg"), young)
    ]
    const deadDir = join(layout.crops, "deadtask00000000001")
    utimesSync(deadDir, (now - old) / 1000, (now - old) / 1000)

    expect(await Orphans.sweep(layout, now, hour)).toBe(3)
    for (const path of stale) expect(existsSync(path), path).toBe(false)
    for (const path of live) expect(existsSync(path), path).toBe(true)
    // Emptied now, so its time is now: it goes at a later sweep.
    expect(existsSync(deadDir)).toBe(true)
    expect(await Orphans.sweep(layout, now + 2 * hour, hour)).toBe(3)
    expect(existsSync(deadDir)).toBe(false)
  })
})
