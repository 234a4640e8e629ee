/**
 * Child processes seen from /proc (Linux; elsewhere every count is 0): the checks that no ffmpeg outlives its
 * decoding, for the tests and the soak bench alike.
 */
import { readdirSync, readFileSync } from "node:fs"

/** Live ffmpeg processes whose parent is `parent` (default this process). A zombie is already dead: not counted. */
export const ffmpegChildren = (parent: number = process.pid): number => {
  let entries: Array<string>
  try {
    entries = readdirSync("/proc")
  } catch {
    return 0
  }
  let n = 0
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, "utf8"))
      if (m && m[1]!.includes("ffmpeg") && m[2] !== "Z" && Number(m[3]) === parent) n++
    } catch {
      // gone meanwhile
    }
  }
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
