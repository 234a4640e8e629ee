import { addEqualityTesters } from "@effect/vitest"

// Structural equality for Effect data types (Option, Either, Data.Class) in expect().toEqual.
addEqualityTesters()

// Tests may use the npm ffmpeg where the system has none (production needs FACEDET_FFMPEG_FALLBACK=npm for that).
process.env.FACEDET_FFMPEG_FALLBACK ??= "npm"
