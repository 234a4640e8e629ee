import { addEqualityTesters } from "@effect/vitest"

// Structural equality for Effect data types (Option, Either, Data.Class) in expect().toEqual.
addEqualityTesters()

// Tests may use the npm ffmpeg where the system has none (production needs FACEDET_FFMPEG_FALLBACK=npm for that).
process.env.FACEDET_FFMPEG_FALLBACK ??= "npm"

// Tests that open onnxruntime sessions themselves, before any detector does: keep its telemetry off as the detector
// does (packages/detector/src/internal/onnxRuntime.ts), so a test run writes nothing into the user's home.
process.env.ORT_DISABLE_TELEMETRY ??= "1"
