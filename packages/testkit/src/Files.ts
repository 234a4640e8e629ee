/** Temporary directories for tests, under the system's temporary directory (one per call, never shared). */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const tempDir = (prefix = "facedet-test-"): string => mkdtempSync(join(tmpdir(), prefix))
