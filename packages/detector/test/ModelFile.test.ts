import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ModelFile from "../src/ModelFile.js"

describe("ModelFile", () => {
  it.effect("loads the pinned model and checks its SHA-256", () =>
    Effect.gen(function* () {
      const model = yield* ModelFile.load()
      expect(model.bytes.length).toBeGreaterThan(500_000)
      expect(ModelFile.digest(model.bytes)).toBe(ModelFile.sha256)
    })
  )

  it.effect("refuses a file whose checksum does not match, and a missing file", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "facedet-model-"))
      const wrong = join(dir, "model.onnx")
      writeFileSync(wrong, "not a model")
      const mismatch = yield* Effect.flip(ModelFile.load(wrong))
      expect(mismatch._tag).toBe("ModelLoadFailed")
      expect(mismatch.message).toContain("checksum mismatch")
      const missing = yield* Effect.flip(ModelFile.load(join(dir, "absent.onnx")))
      expect(missing.message).toContain("not found")
    })
  )
})
