/**
 * The face-recognition model file: dlib's ResNet-29 face descriptor as @vladmandic/face-api ships it
 * (`face_recognition_model`, MIT; 128 numbers per face, the same person when the Euclidean distance is small),
 * written as ONNX by `scripts/derive-recognition.mjs` (the same graph, op for op; its 8-bit weights kept as they
 * ship). The build derives it from the pinned original in the devDependency and writes it with face-api's licence to
 * `dist/model/`; it is not committed (6.5 MB). Every load checks its SHA-256 against the pin below.
 */
import { chipSize, dimensions } from "./FaceEmbedding.js"
import { built } from "./ModelFile.js"

/**
 * The file name in `dist/model/`.
 *
 * @since 0.1.0
 */
export const fileName = "face_recognition_facedet.onnx"

/**
 * SHA-256 of the derived model file.
 *
 * @since 0.1.0
 */
export const sha256 = "89a58d6059d9889a7c0966dd113b5d2fd889afd700a2c3409815f3e1c740fc82"

/**
 * The model's input and output, for the worker that runs it (150x150 RGB chips in, 128 numbers out).
 *
 * @since 0.1.0
 */
export const io = {
  task: "face embedding",
  inputName: "image",
  size: chipSize,
  outputName: "embedding",
  outputs: dimensions,
  maxBatch: 8,
  runBatch: 8
} as const

/**
 * The npm package the original comes from (a devDependency), and its files in the package's `model/` folder with
 * their SHA-256 (@vladmandic/face-api@1.7.15).
 *
 * @since 0.1.0
 */
export const source = {
  package: "@vladmandic/face-api",
  manifest: "face_recognition_model-weights_manifest.json",
  manifestSha256: "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b",
  weights: "face_recognition_model.bin",
  weightsSha256: "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589"
} as const

const file = built(fileName, sha256)

/**
 * Where to look: next to the compiled code (`dist/model/`), then the package's `dist/model/` when run from `src/`.
 *
 * @since 0.1.0
 */
export const candidates = file.candidates

/**
 * Reads the model from `path` (or the first candidate that exists) and checks its checksum.
 *
 * @since 0.1.0
 */
export const load = file.load

/**
 * The 8-bit copy of the model that joins a video's tracks into people when no embeddings are asked for: the same
 * network with its weights as signed 7-bit values per output channel (so that no CPU's 16-bit sums saturate) and its
 * activations as 8-bit values over the ranges measured on face chips (`scripts/calibrate-recognition.mjs`, committed
 * in `assets/recognition-int8-ranges.json`), derived by the build like the float model. onnxruntime runs its
 * convolutions as 8-bit integer arithmetic: 2.1-2.3 times faster per face on the CPU it was measured on (AVX-512
 * VNNI); a CPU without 8-bit dot-product instructions gains less. Its embeddings are 0.085 (median; at most 0.15)
 * from the float model's on the calibration chips and on others, and separate the same pairs of people as well
 * (README, "People across cuts"); embeddings returned to callers always come from the float model, face-api's own
 * numbers.
 *
 * @since 0.1.0
 */
export const int8 = {
  fileName: "face_recognition_int8_facedet.onnx",
  sha256: "5218542848665be842dd204bc24e2843a8e7a87fa4645af6fca7d78a02de3541",
  ranges: "recognition-int8-ranges.json"
} as const

const int8File = built(int8.fileName, int8.sha256)

/**
 * Reads the 8-bit model from `path` (or the first candidate that exists) and checks its checksum.
 *
 * @since 0.1.0
 */
export const loadInt8 = int8File.load
