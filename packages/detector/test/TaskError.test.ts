/**
 * The one mapping from detector failures to task errors (the server records it, the CLI reports its code), and the
 * one mapping from a detected face to the wire's: every failure has a code core knows, and a face comes out as core's
 * schema reads it.
 */
import * as Face from "@facedet/core/Face"
import { TaskErrorCode } from "@facedet/core/TaskErrorCode"
import { describe, expect, it } from "@effect/vitest"
import * as Detection from "../src/Detection.js"
import * as DetectorError from "../src/DetectorError.js"

describe("DetectorError.taskError", () => {
  it("gives every failure a task error code and a message without internals", () => {
    const cases: ReadonlyArray<readonly [DetectorError.DetectorError, string]> = [
      [new DetectorError.UnsupportedMedia({ detected: "pdf" }), TaskErrorCode.UnsupportedFormat],
      [new DetectorError.CorruptMedia({ format: "jpeg", detail: "truncated at /tmp/x" }), TaskErrorCode.Corrupt],
      [
        new DetectorError.VideoDecodeFailed({ detail: "ffmpeg exited", stderr: "moov atom not found", exitCode: 1 }),
        TaskErrorCode.Corrupt
      ],
      [new DetectorError.MediaTooLarge({ reason: "pixels", limit: 1e8, actual: 2e9 }), TaskErrorCode.TooLarge],
      [new DetectorError.ModelLoadFailed({ path: "/models/x.onnx", detail: "gone" }), TaskErrorCode.Internal],
      [new DetectorError.InferenceFailed({ attempts: 3, detail: "worker exited" }), TaskErrorCode.WorkerLost]
    ]
    for (const [error, code] of cases) {
      const task = DetectorError.taskError(error)
      expect(task.code, error._tag).toBe(code)
      // The detector's own detail (paths, ffmpeg's output) goes to the log, never into the task.
      expect(task.message).not.toMatch(/\/tmp|\/models|moov|ffmpeg/)
    }
    expect(
      DetectorError.taskError(new DetectorError.InferenceFailed({ attempts: 3, detail: "worker exited" })).message
    ).toContain("3 times")
  })
})

describe("Detection.toWireFace", () => {
  it("spells a detected face, or a stored one, as the wire's Face", () => {
    const detected: Detection.DetectedFace = {
      id: 2,
      box: [10.5, 20, 30, 31.5],
      score: 0.9123,
      landmarks: {
        right_eye: [15, 25],
        left_eye: [30, 25],
        nose_tip: [22, 32],
        mouth_center: [22, 40],
        right_ear: [11, 28],
        left_ear: [39, 28]
      },
      firstSeenMs: 0,
      lastSeenMs: 1500
    }
    const wire = Detection.toWireFace(detected, "https://faces.example.com/faces/abc.jpg")
    expect(Face.Face.parse(wire)).toEqual(wire)
    expect(wire).toEqual({
      id: 2,
      link: "https://faces.example.com/faces/abc.jpg",
      box: [10.5, 20, 30, 31.5],
      score: 0.9123,
      landmarks: detected.landmarks,
      first_seen_ms: 0,
      last_seen_ms: 1500
    })
    // A stored face (landmarks read back as a record, no video span) maps the same way, in the same key order.
    const stored = { id: 0, box: [1, 2, 3, 4] as const, score: 0.5, landmarks: { nose_tip: [2, 3] as const } }
    expect(JSON.stringify(Detection.toWireFace(stored, "l"))).toBe(
      '{"id":0,"link":"l","box":[1,2,3,4],"score":0.5,"landmarks":{"nose_tip":[2,3]}}'
    )
  })
})
