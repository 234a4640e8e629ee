/**
 * Child processes seen from /proc (Linux; elsewhere every count is 0): the checks that no ffmpeg outlives its
 * decoding, for the tests and the soak bench alike.
 */
import { readdirSync, readFileSync } from "node:fs"

/**
 * Live ffmpeg processes descended from `parent` (default this process): its children and theirs, since ffmpeg is
 * started through a helper process. A zombie is already dead: not counted.
 */
export const ffmpegChildren = (parent: number = process.pid): number => {
  let entries: Array<string>
  try {
    entries = readdirSync("/proc")
  } catch {
    return 0
  }
  const procs = new Map<number, { readonly name: string; readonly state: string; readonly ppid: number }>()
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, "utf8"))
      if (m) procs.set(Number(pid), { name: m[1]!, state: m[2]!, ppid: Number(m[3]) })
    } catch {
      // gone meanwhile
    }
  }
  const descends = (pid: number): boolean => {
    for (let p = procs.get(pid)?.ppid, hops = 0; p !== undefined && p > 1 && hops < 64; hops++) {
      if (p === parent) return true
      p = procs.get(p)?.ppid
    }
    return false
  }
  let n = 0
  for (const [pid, proc] of procs) if (proc.name.includes("ffmpeg") && proc.state !== "Z" && descends(pid)) n++
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
