import { readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import sharp from "sharp"
import * as FaceCheckModel from "../src/FaceCheckModel.js"
import * as ModelFile from "../src/ModelFile.js"
import * as RecognitionModel from "../src/RecognitionModel.js"
import * as Media from "./fixtures/media.js"

const require = createRequire(import.meta.url)
const ort = require("onnxruntime-node") as typeof import("onnxruntime-node")

const original = (): Uint8Array =>
  new Uint8Array(
    readFileSync(
      join(dirname(require.resolve(`${ModelFile.sourcePackage}/package.json`)), "ONNX", ModelFile.sourceFileName)
    )
  )

describe("ModelFile", () => {
  it.effect("loads the pinned model and checks its SHA-256", () =>
    Effect.gen(function* () {
      const model = yield* ModelFile.load()
      expect(model.bytes.length).toBeGreaterThan(500_000)
      expect(ModelFile.digest(model.bytes)).toBe(ModelFile.sha256)
      expect(ModelFile.digest(original())).toBe(ModelFile.sourceSha256)
    })
  )

  it("names every shipped model's pinned SHA-256 in the NOTICE", () => {
    const notice = readFileSync(new URL("../assets/model-NOTICE", import.meta.url), "utf8")
    for (const model of [ModelFile, RecognitionModel, RecognitionModel.int8, FaceCheckModel]) {
      const entry = notice.slice(notice.indexOf(`${model.fileName}\n`))
      expect(entry.length, model.fileName).toBeLessThan(notice.length)
      // The file's own digest line (its sources' digests are written in parentheses).
      expect(entry.match(/^ {2}SHA-256: ([0-9a-f]{64})$/m)?.[1], model.fileName).toBe(model.sha256)
    }
  })

  it.effect("refuses a file whose checksum does not match, and a missing file", () =>
    Effect.gen(function* () {
      const dir = Media.tempDir()
      const wrong = join(dir, "model.onnx")
      writeFileSync(wrong, "not a model")
      const mismatch = yield* Effect.flip(ModelFile.load(wrong))
      expect(mismatch._tag).toBe("ModelLoadFailed")
      expect(mismatch.message).toContain("checksum mismatch")
      const missing = yield* Effect.flip(ModelFile.load(join(dir, "absent.onnx")))
      expect(missing.message).toContain("not found")
    })
  )

  it.effect("computes what the original model computes, on a photo of people", () =>
    Effect.gen(function* () {
      const options = { intraOpNumThreads: 1, graphOptimizationLevel: "all", logSeverityLevel: 3 } as const
      const derived = yield* Effect.promise(async () =>
        ort.InferenceSession.create((await Effect.runPromise(ModelFile.load())).bytes, options)
      )
      const upstream = yield* Effect.promise(() => ort.InferenceSession.create(original(), options))
      const pixels = new Uint8Array(
        yield* Effect.promise(() => sharp(Media.photo(3)).resize(256, 256, { fit: "fill" }).raw().toBuffer())
      )
      const a = yield* Effect.promise(() =>
        upstream.run({
          "input:0": new ort.Tensor(
            "float32",
            Float32Array.from(pixels, (v) => v / 127.5 - 1),
            [1, 256, 256, 3]
          )
        })
      )
      const b = yield* Effect.promise(() =>
        derived.run({ "input:0": new ort.Tensor("uint8", pixels, [1, 256, 256, 3]) })
      )
      for (const name of ["Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"]) {
        const x = a[name]!.data as Float32Array
        const y = b[name]!.data as Float32Array
        expect([name, ...b[name]!.dims]).toEqual([name, ...a[name]!.dims])
        let worst = 0
        for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!))
        // float rounding only: logits reach 275, regressor values 120
        expect(worst).toBeLessThan(2e-3)
      }
      // and it takes windows of other sizes
      const wide = yield* Effect.promise(() =>
        derived.run({ "input:0": new ort.Tensor("uint8", new Uint8Array(224 * 384 * 3).fill(128), [1, 224, 384, 3]) })
      )
      expect(wide["Identity:0"]!.dims).toEqual([1, 24 * 14 * 2, 1])
      expect(wide["Identity_3:0"]!.dims).toEqual([1, 12 * 7 * 6, 16])
      yield* Effect.promise(() => Promise.all([derived.release(), upstream.release()]))
    })
  )
})
