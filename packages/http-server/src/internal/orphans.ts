/**
 * The data directory's safety net against files no record owns. Every file the store tracks (a crop, a kept image
 * source, an upload) expires at most its media lifetime after it was last written: crops and sources are written
 * when (or just before) their task succeeds, an upload just before it is registered. A file older than that plus a
 * margin is therefore expired or never registered: a worker that died between writing a task's files and recording
 * the task, whose retry then failed, leaves such files behind. The sweeper removes them, so the directory cannot
 * grow without bound even through crashes.
 */
import { readdir, rm, rmdir, stat } from "node:fs/promises"
import { join } from "node:path"
import type { Layout } from "./dataDir.js"

/** Files written this long before their task's record are still protected (the write-to-commit gap is milliseconds). */
export const marginMs = 10 * 60_000

const removeIfOlder = async (path: string, cutoff: number): Promise<boolean> => {
  try {
    const info = await stat(path)
    if (info.mtimeMs >= cutoff) return false
    await rm(path, { recursive: info.isDirectory(), force: true })
    return true
  } catch {
    return false // gone meanwhile
  }
}

/**
 * Removes files under `crops/`, `sources/` and `uploads/` last written before `now - mediaTtlMs - marginMs`, and
 * crop directories left empty; returns how many files went.
 */
export const sweep = async (layout: Layout, now: number, mediaTtlMs: number): Promise<number> => {
  const cutoff = now - mediaTtlMs - marginMs
  let removed = 0
  for (const dir of [layout.sources, layout.uploads]) {
    for (const name of await readdir(dir).catch(() => [])) {
      if (await removeIfOlder(join(dir, name), cutoff)) removed++
    }
  }
  for (const task of await readdir(layout.crops).catch(() => [])) {
    const dir = join(layout.crops, task)
    const files = await readdir(dir).catch(() => undefined)
    if (files === undefined) continue
    for (const name of files) if (await removeIfOlder(join(dir, name), cutoff)) removed++
    // Only an old directory: a new one may be about to receive its first crop.
    const info = await stat(dir).catch(() => undefined)
    if (info !== undefined && info.mtimeMs < cutoff) await rmdir(dir).catch(() => undefined) // only when empty
  }
  return removed
}
