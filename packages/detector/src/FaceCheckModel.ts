/**
 * The face-check model file the second look runs: the face-flag branch of MediaPipe's face mesh (Apache-2.0) as
 * @vladmandic/human ships it (`models/facemesh`, MIT), the probability that a 192x192 window holds a face, written as
 * ONNX by `scripts/derive-face-check.mjs` (the same graph, node for node, without the mesh and contour heads; its
 * 16-bit weights kept as they ship). The build derives it from the pinned original in the devDependency and writes it
 * with human's licence to `dist/model/`; it is not committed. Every load checks its SHA-256 against the pin below.
 */
import { built } from "./ModelFile.js"

/**
 * The file name in `dist/model/`.
 *
 * @since 0.1.0
 */
export const fileName = "face_check_facedet.onnx"

/**
 * SHA-256 of the derived model file.
 *
 * @since 0.1.0
 */
export const sha256 = "f8e7915e1c1e6cd7ee6bcba089a1f20984eab2411842e739da8ce48fd1b46d0c"

/**
 * The model's input and output, for the worker that runs it (192x192 RGB windows in, one probability out). Up to 8
 * windows go to the worker in one message (a message costs about 1 ms), and it runs them one at a time: 1.95 ms a
 * window against 1.84 in batches of 8, which hold about 30 MB more.
 *
 * @since 0.1.0
 */
export const io = {
  task: "face check",
  inputName: "window",
  size: 192,
  outputName: "face",
  outputs: 1,
  maxBatch: 8,
  runBatch: 1
} as const

/**
 * The npm package the original comes from (a devDependency), and its files in the package's `models/` folder with
 * their SHA-256 (@vladmandic/human@3.3.6).
 *
 * @since 0.1.0
 */
export const source = {
  package: "@vladmandic/human",
  graph: "facemesh.json",
  graphSha256: "b60ca26f404724f43bd2b1575761d8265180e1f053cc0731caa68462927309e7",
  weights: "facemesh.bin",
  weightsSha256: "3826da640b0a3021161605369ee6af293f75d518040355b960ec71a3390c1c0b"
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
