/**
 * The wire mapping of a stored task: statuses never go backwards, and every state decodes with core's schema.
 */
import * as DetectTask from "@facedet/core/DetectTask"
import { describe, expect, it } from "@effect/vitest"
import * as Api from "../src/Api.js"
import * as JobStore from "../src/JobStore.js"
import type { Task } from "../src/JobStore.js"

const base: Task = {
  id: "abcdefghij0123456z",
  kind: "image",
  mediaUrl: "https://media.example.com/a.jpg",
  owner: "k",
  state: "queued",
  attempts: 0,
  createdAt: Date.UTC(2026, 4, 27, 12, 14, 2),
  startedAt: undefined,
  finishedAt: undefined,
  detectId: undefined,
  faces: undefined,
  error: undefined,
  mediaExpiresAt: undefined,
  callbackUrl: undefined,
  embeddings: false,
  source: { _tag: "Remote", url: "https://example.com/a.jpg" },
  isolated: false
}

describe("Api.resultData", () => {
  it("maps each state to crun.ai's words; a requeued task stays processing", () => {
    expect(JobStore.status(base)).toBe("starting")
    expect(JobStore.status({ ...base, state: "running", startedAt: base.createdAt })).toBe("processing")
    expect(JobStore.status({ ...base, state: "queued", startedAt: base.createdAt, attempts: 1 })).toBe("processing")
  })

  it("writes a succeeded task exactly as crun.ai does, with facedet's extra face fields", () => {
    const data = Api.resultData(
      {
        ...base,
        state: "succeeded",
        startedAt: base.createdAt + 1000,
        finishedAt: base.createdAt + 2000,
        detectId: "m1oZzqYp9dN",
        faces: [
          {
            id: 0,
            token: "T".repeat(32),
            box: [1, 2, 30, 30],
            score: 0.9,
            landmarks: { nose_tip: [10, 12] },
            firstSeenMs: 0,
            lastSeenMs: 500
          }
        ]
      },
      "https://faces.example.com"
    )
    expect(DetectTask.ResultData.safeParse(data).success).toBe(true)
    expect(data).toEqual({
      detect_task_id: base.id,
      status: "succeeded",
      result: {
        id: "m1oZzqYp9dN",
        status: "succeed",
        type: "face_detect",
        hair_id: null,
        faces: [
          {
            id: 0,
            link: `https://faces.example.com/faces/${"T".repeat(32)}.jpg`,
            box: [1, 2, 30, 30],
            score: 0.9,
            landmarks: { nose_tip: [10, 12] },
            first_seen_ms: 0,
            last_seen_ms: 500
          }
        ],
        started_at: "2026-05-27 12:14:03",
        finished_at: "2026-05-27 12:14:04",
        error: null
      },
      error: null
    })
  })

  it("writes a failed task with its error and no result", () => {
    const data = Api.resultData(
      {
        ...base,
        state: "failed",
        finishedAt: base.createdAt,
        error: { code: "FaceSwap.Detect.Failed", message: "no face" }
      },
      "http://x"
    )
    expect(DetectTask.ResultData.safeParse(data).success).toBe(true)
    expect(data).toMatchObject({ status: "failed", result: null, error: { code: "FaceSwap.Detect.Failed" } })
  })

  it("recognises only its own upload URLs, by exact origin and path", () => {
    const token = "A".repeat(32)
    expect(Api.uploadTokenOf("http://127.0.0.1:8080", `http://127.0.0.1:8080/uploads/${token}`)).toBe(token)
    expect(Api.uploadTokenOf("http://127.0.0.1:8080", `http://127.0.0.1:8081/uploads/${token}`)).toBeUndefined()
    expect(Api.uploadTokenOf("http://127.0.0.1:8080", `http://127.0.0.1:8080/uploads/${token}/x`)).toBeUndefined()
    expect(
      Api.uploadTokenOf("http://127.0.0.1:8080", `http://127.0.0.1:8080/uploads/../faces/${token}`)
    ).toBeUndefined()
  })
})
