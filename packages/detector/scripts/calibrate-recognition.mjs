#!/usr/bin/env node
// Measures the activation ranges of the 8-bit face-recognition model (run by hand after `pnpm build`; the build reads
// the committed result). Finds the faces of the photos given, cuts their chips as the detector does, also from each
// photo mirrored, at half size, at JPEG quality 30 and 40 % darker, runs the folded float model
// (derive-recognition.mjs, mode "calibrate") on them, and writes each quantised activation's [min, max] over all
// chips to assets/recognition-int8-ranges.json.
//
// Usage: calibrate-recognition.mjs <photo.jpg>...
import { readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import ort from "onnxruntime-node"
import sharp from "sharp"
import { derive } from "./derive-recognition.mjs"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const photos = process.argv.slice(2)
if (photos.length === 0) {
  console.error("usage: calibrate-recognition.mjs <photo.jpg>...")
  process.exit(2)
}
const { FaceDetector, FaceEmbedding, RecognitionModel } = await import(join(root, "dist", "index.js"))
const faceApi = join(root, "node_modules", RecognitionModel.source.package, "model")
const { bytes, activations } = derive(
  JSON.parse(readFileSync(join(faceApi, RecognitionModel.source.manifest), "utf8")),
  new Uint8Array(readFileSync(join(faceApi, RecognitionModel.source.weights))),
  { kind: "calibrate" }
)

const variants = [
  (s) => s.jpeg({ quality: 95 }),
  (s) => s.flop().jpeg({ quality: 95 }),
  (s, width) => s.resize(Math.round(width / 2)).jpeg({ quality: 95 }),
  (s) => s.jpeg({ quality: 30 }),
  (s) => s.linear(0.6, 0).jpeg({ quality: 95 })
]
const chips = await Effect.runPromise(
  Effect.gen(function* () {
    const detector = yield* FaceDetector.FaceDetector
    const out = []
    for (const photo of photos) {
      const original = readFileSync(photo)
      const { width } = yield* Effect.promise(() => sharp(original).metadata())
      for (const variant of variants) {
        const image = yield* Effect.promise(() => variant(sharp(original), width).toBuffer())
        const { faces } = yield* detector.detectImage(new Uint8Array(image), { crops: false })
        const { data, info } = yield* Effect.promise(() =>
          sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true })
        )
        const raster = { data: new Uint8Array(data), width: info.width, height: info.height }
        for (const face of faces) out.push(FaceEmbedding.chip(raster, 1, face))
      }
    }
    return out
  }).pipe(Effect.provide(FaceDetector.layer({ sessions: 1 })), Effect.scoped)
)

// As the detector does (src/internal/onnxRuntime.ts): no usage events from onnxruntime.
process.env.ORT_DISABLE_TELEMETRY ??= "1"
const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 })
const ranges = Object.fromEntries(activations.map((a) => [a.key, [0, 0]]))
const size = FaceEmbedding.chipSize
for (const chip of chips) {
  const results = await session.run({ image: new ort.Tensor("uint8", chip, [1, size, size, 3]) })
  for (const { key, tensor } of activations) {
    const range = ranges[key]
    for (const v of results[tensor].data) {
      if (v < range[0]) range[0] = v
      if (v > range[1]) range[1] = v
    }
  }
}
// Six significant digits: the build reads them back exactly, and the file stays readable.
const rounded = Object.fromEntries(Object.entries(ranges).map(([k, r]) => [k, r.map((v) => Number(v.toPrecision(6)))]))
const out = join(root, "assets", "recognition-int8-ranges.json")
const lines = Object.entries(rounded).map(([k, r]) => `    ${JSON.stringify(k)}: ${JSON.stringify(r)}`)
const names = JSON.stringify(photos.map((p) => p.split("/").pop()))
writeFileSync(
  out,
  `{\n  "chips": ${chips.length},\n  "photos": ${names},\n  "ranges": {\n${lines.join(",\n")}\n  }\n}\n`
)
console.log(
  `calibrate-recognition: ${chips.length} chips from ${photos.length} photos, ${activations.length} ranges in ${out}`
)
process.exit(0)
