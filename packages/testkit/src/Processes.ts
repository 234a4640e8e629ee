/**
 * Child processes seen from /proc (Linux; elsewhere every count is 0): the checks that no ffmpeg outlives its
 * decoding, for the tests and the soak bench alike.
 */
import { readdirSync, readFileSync } from "node:fs"

/** A process as `/proc/<pid>/stat` gives it: its name, its state (`Z`: a zombie, already dead) and its parent. */
export interface ProcessEntry {
  readonly name: string
  readonly state: string
  readonly ppid: number
}

/** Every process now, by pid (Linux /proc; elsewhere empty). */
export const processTable = (): ReadonlyMap<number, ProcessEntry> => {
  const table = new Map<number, ProcessEntry>()
  let entries: Array<string>
  try {
    entries = readdirSync("/proc")
  } catch {
    return table
  }
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, "utf8"))
      if (m) table.set(Number(pid), { name: m[1]!, state: m[2]!, ppid: Number(m[3]) })
    } catch {
      // gone meanwhile
    }
  }
  return table
}

/**
 * Live ffmpeg processes descended from `parent` (default this process): its children and theirs, since ffmpeg is
 * started through a helper process. A zombie is already dead: not counted.
 */
export const ffmpegChildren = (parent: number = process.pid): number => {
  const table = processTable()
  const descends = (pid: number): boolean => {
    for (let p = table.get(pid)?.ppid, hops = 0; p !== undefined && p > 1 && hops < 64; hops++) {
      if (p === parent) return true
      p = table.get(p)?.ppid
    }
    return false
  }
  let n = 0
  for (const [pid, proc] of table) if (proc.name.includes("ffmpeg") && proc.state !== "Z" && descends(pid)) n++
  return n
}

/** Waits up to `ms` for every ffmpeg child to end (a killed one takes a moment); returns how many are left. */
export const ffmpegLeftAfter = async (ms: number, parent: number = process.pid): Promise<number> => {
  const until = Date.now() + ms
  for (;;) {
    const n = ffmpegChildren(parent)
    if (n === 0 || Date.now() > until) return n
    await new Promise((r) => setTimeout(r, 50))
  }
}
