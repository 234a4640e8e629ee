import { DetectTask, TaskErrorCode, TaskId } from "@facedet/core"
import { describe, expect, it } from "vitest"
import * as LocalDetection from "../src/LocalDetection.js"

const face = {
  id: 0,
  box: [10.5, 20, 30, 31] as const,
  score: 0.934567,
  landmarks: {
    right_eye: [15, 25] as const,
    left_eye: [30, 25] as const,
    nose_tip: [22, 32] as const,
    mouth_center: [22, 40] as const,
    right_ear: [8, 28] as const,
    left_ear: [38, 28] as const
  }
}

describe("LocalDetection", () => {
  it("a succeeded local result is a valid wire result in crun.ai's shapes", () => {
    const data = LocalDetection.succeeded({
      detectTaskId: "abcdefghijklmnopqr",
      detectId: "AbCdEfGhIjK",
      faces: [LocalDetection.toWireFace({ ...face, firstSeenMs: 0, lastSeenMs: 1200 }, "file:///tmp/out/face-0.jpg")],
      startedAt: Date.UTC(2026, 4, 27, 12, 14, 3),
      finishedAt: Date.UTC(2026, 4, 27, 12, 14, 4)
    })
    expect(DetectTask.ResultData.parse(data)).toEqual(data)
    expect(data).toEqual({
      detect_task_id: "abcdefghijklmnopqr",
      status: "succeeded",
      result: {
        id: "AbCdEfGhIjK",
        status: "succeed",
        type: "face_detect",
        hair_id: null,
        faces: [
          {
            id: 0,
            link: "file:///tmp/out/face-0.jpg",
            box: [10.5, 20, 30, 31],
            score: 0.9346,
            landmarks: face.landmarks,
            first_seen_ms: 0,
            last_seen_ms: 1200
          }
        ],
        started_at: "2026-05-27 12:14:03",
        finished_at: "2026-05-27 12:14:04",
        error: null
      },
      error: null
    })
    expect(data.detect_task_id).toMatch(TaskId.detectTaskIdPattern)
  })

  it("a failure is a valid failed result with the task error code", () => {
    const data = LocalDetection.failed(
      "abcdefghijklmnopqr",
      TaskErrorCode.TaskErrorCode.NoFace,
      "no face detected in x.jpg"
    )
    expect(DetectTask.ResultData.parse(data)).toEqual(data)
    expect(data).toMatchObject({ status: "failed", result: null, error: { code: "FaceSwap.Detect.Failed" } })
  })
})
