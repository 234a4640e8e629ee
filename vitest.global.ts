import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

// One directory per test run for the tests' temporary files (`@facedet/testkit/Files`), removed when the run ends:
// the test processes themselves are stopped by vitest, so they cannot be trusted to clean up after themselves.
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "facedet-tests-"))
  process.env.FACEDET_TEST_TMPDIR = dir
  return () => rmSync(dir, { recursive: true, force: true })
}
