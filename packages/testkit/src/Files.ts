/**
 * Temporary directories for tests (one per call, never shared), inside the test run's own directory when vitest made
 * one (`vitest.global.ts` removes it when the run ends), else under the system's temporary directory.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const tempDir = (prefix = "facedet-test-"): string =>
  mkdtempSync(join(process.env.FACEDET_TEST_TMPDIR ?? tmpdir(), prefix))
