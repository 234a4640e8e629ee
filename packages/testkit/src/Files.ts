/**
 * Temporary directories for tests (one per call, never shared), under the system's temporary directory: in a vitest
 * run, the run's own directory (`vitest.global.ts` points TMPDIR there and removes it when the run ends).
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const tempDir = (prefix = "facedet-test-"): string => mkdtempSync(join(tmpdir(), prefix))
