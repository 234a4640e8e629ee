/**
 * Properties of the wire vocabulary (fast-check, seeded; FACEDET_PROPERTY_SEED replays a failure): every envelope the schemas accept survives a trip through JSON unchanged, and every envelope code maps
 * to exactly one error tag and back. The state machine's own properties are in TaskStatus.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { DetectTask, Envelope, FaceDetError, TaskErrorCode, Upload } from "../src/index.js"

FastCheck.configureGlobal({ seed: Number(process.env.FACEDET_PROPERTY_SEED ?? 20261204) })

const finite = FastCheck.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 })
const size = FastCheck.double({ noNaN: true, noDefaultInfinity: true, min: 0, max: 1e5 })
const text = FastCheck.string({ maxLength: 24, unit: "binary" })
const stamp = FastCheck.option(FastCheck.constant("2026-12-04 10:00:00"), { nil: null })

const face = FastCheck.record(
  {
    id: FastCheck.nat(64),
    link: FastCheck.webUrl(),
    box: FastCheck.tuple(finite, finite, size, size),
    score: FastCheck.double({ noNaN: true, min: 0, max: 1 }),
    landmarks: FastCheck.dictionary(
      FastCheck.string({ minLength: 1, maxLength: 12 }),
      FastCheck.tuple(finite, finite),
      {
        maxKeys: 6
      }
    ),
    first_seen_ms: size,
    last_seen_ms: size
  },
  { requiredKeys: ["id", "link"] }
)

const taskError = FastCheck.record({
  code: FastCheck.oneof(FastCheck.constantFrom(...Object.values(TaskErrorCode.TaskErrorCode)), text),
  message: text
})

/** `data` of a result in any state, as a server may send it (extra fields included: the schemas are loose). */
const resultData = FastCheck.oneof(
  FastCheck.record({
    detect_task_id: FastCheck.string({ minLength: 1, maxLength: 32 }),
    status: FastCheck.constant("succeeded"),
    result: FastCheck.record({
      id: FastCheck.string({ minLength: 1, maxLength: 32 }),
      status: FastCheck.constant("succeed"),
      type: FastCheck.constant("face_detect"),
      faces: FastCheck.array(face, { maxLength: 5 }),
      started_at: stamp,
      finished_at: stamp,
      error: FastCheck.constant(null)
    }),
    error: FastCheck.constant(null)
  }),
  FastCheck.record({
    detect_task_id: FastCheck.string({ minLength: 1, maxLength: 32 }),
    status: FastCheck.oneof(FastCheck.constantFrom("starting", "processing", "failed"), text),
    result: FastCheck.constant(null),
    error: FastCheck.option(taskError, { nil: null }),
    extension: FastCheck.jsonValue({ maxDepth: 2 })
  })
)

/** A JSON value after a trip through text, which is all a client ever receives. */
const throughJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value))

describe("wire envelopes", () => {
  it.prop("a result envelope in any state decodes to itself after a trip through JSON", [resultData], ([data]) => {
    const envelope = throughJson(Envelope.ok(data))
    const parsed = Envelope.success(DetectTask.ResultData).safeParse(envelope)
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true)
    expect(parsed.data).toEqual(envelope)
    expect(throughJson(parsed.data)).toEqual(envelope)
  })

  it.prop(
    "whatever JSON a schema accepts, it accepts again unchanged once re-serialised",
    [FastCheck.jsonValue({ maxDepth: 4 }), resultData],
    ([noise, data]) => {
      // Half noise, half a valid body with one field replaced by noise: most of either is refused, and what is
      // accepted must be stable.
      const candidates = [
        noise,
        { ...data, status: noise },
        { ...data, result: noise },
        { code: 200, message: "success", data: noise }
      ]
      const schemas = [
        DetectTask.ResultData,
        Envelope.RawEnvelope,
        Envelope.ErrorEnvelope,
        Envelope.success(DetectTask.CreateData),
        Envelope.success(Upload.UploadData)
      ]
      for (const candidate of candidates) {
        const json = throughJson(candidate)
        for (const schema of schemas) {
          const first = schema.safeParse(json)
          if (!first.success) continue
          const again = schema.safeParse(throughJson(first.data))
          expect(again.success).toBe(true)
          expect(again.data).toEqual(first.data)
        }
      }
    }
  )
})

describe("error codes", () => {
  const known = FaceDetError.tags.flatMap((tag) => {
    const codes = [401, 402, 404, 422, 429, 455, 500, 501, 505].filter((c) => FaceDetError.fromCode(c)._tag === tag)
    return codes.map((code) => [code, tag] as const)
  })

  it("each documented code has its own tag, and each code-bearing tag exactly one code", () => {
    expect(known).toHaveLength(9)
    expect(new Set(known.map(([, tag]) => tag)).size).toBe(9)
    // The remaining tags are not envelope codes of their own: failures around a call, and the unknown-code catch-all.
    const rest = FaceDetError.tags.filter((t) => !known.some(([, tag]) => tag === t))
    expect(rest).toEqual(["TransportError", "DecodeError", "DetectionFailed", "WaitTimeout", "UnknownApiError"])
  })

  it.prop(
    "any code other than 200 maps to exactly one known tag and back to itself",
    [FastCheck.integer({ min: -1_000_000, max: 1_000_000 }).filter((c) => c !== 200), text],
    ([code, message]) => {
      const error = FaceDetError.fromCode(code, { message })
      expect(FaceDetError.isFaceDetError(error)).toBe(true)
      expect(FaceDetError.tags.filter((t) => FaceDetError.is(t)(error))).toEqual([error._tag])
      const documented = known.find(([c]) => c === code)
      expect(error._tag).toBe(documented?.[1] ?? "UnknownApiError")
      const envelope = FaceDetError.toEnvelope(error)
      expect(envelope.code).toBe(code)
      expect(FaceDetError.fromCode(envelope.code, { message: envelope.message })).toEqual(error)
    }
  )

  it.prop(
    "any HTTP status without an envelope maps to one known tag",
    [FastCheck.integer({ min: 100, max: 599 })],
    ([status]) => {
      const error = FaceDetError.fromHttpStatus(status)
      expect(FaceDetError.tags).toContain(error._tag)
      expect(error.httpStatus).toBe(status)
    }
  )

  it("task error codes are distinct strings", () => {
    const values = Object.values(TaskErrorCode.TaskErrorCode)
    expect(new Set(values).size).toBe(values.length)
  })
})
