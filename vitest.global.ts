import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

// One directory per test run for every temporary file the tests and the processes they start make (TMPDIR, which
// os.tmpdir() and the child processes read), removed when the run ends: vitest stops the test processes itself, so
// they cannot be trusted to clean up, and the CLI's default output folder is a temporary one by design.
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "facedet-tests-"))
  process.env.TMPDIR = dir
  return () => rmSync(dir, { recursive: true, force: true })
}
