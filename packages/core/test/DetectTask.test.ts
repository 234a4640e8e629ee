import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { DetectTask, Envelope, Wire } from "../src/index.js"
import { body as crun, type Name } from "@facedet/testkit/Crun"

const dataOf = (name: Name) => {
  const envelope = Envelope.RawEnvelope.parse(crun(name))
  expect(envelope.code).toBe(200)
  return envelope.data
}

describe("DetectTask wire schemas", () => {
  it("accepts the documented create answer", () => {
    const body = Envelope.success(DetectTask.CreateData).parse(crun("create-ok"))
    expect(body.data.detect_task_id).toBe("dit60yt8reqplt1c16")
  })

  it("accepts the documented result in every state, keeping both status words", () => {
    const processing = DetectTask.ResultData.parse(dataOf("result-processing"))
    expect(processing.status).toBe("processing")
    expect(processing.result).toBeNull()

    const failed = DetectTask.ResultData.parse(dataOf("result-failed"))
    expect(failed.status).toBe("failed")
    expect(failed.error).toEqual({
      code: "FaceSwap.Detect.Failed",
      message: "[任务NDm40D2DQp6] 未检测到人脸,源文件未检测到人脸"
    })

    const succeeded = DetectTask.ResultData.parse(dataOf("result-succeeded"))
    expect(DetectTask.isSucceeded(succeeded)).toBe(true)
    expect(succeeded.status).toBe("succeeded")
    expect(succeeded.result?.status).toBe("succeed")
    expect(succeeded.result?.id).toBe("m1oZzqYp9dN")
    expect(succeeded.result?.type).toBe("face_detect")
    expect(succeeded.result?.hair_id).toBeNull()
    expect(succeeded.result?.faces.map((f) => f.id)).toEqual([0, 1])
    expect(succeeded.result?.started_at).toBe("2026-05-27 12:14:03")
  })

  it("re-serialises a fixture to exactly the documented body", () => {
    for (const name of ["result-processing", "result-failed", "result-succeeded"] as const) {
      const raw = dataOf(name)
      expect(DetectTask.ResultData.parse(raw)).toEqual(raw)
    }
  })

  it("keeps unknown extra fields from a newer server", () => {
    const raw = {
      detect_task_id: "abc",
      status: "succeeded",
      queue_position: 3,
      result: { id: "x", status: "succeed", faces: [{ id: 0, link: "https://e/0.jpg", age: 31 }], region: "eu" },
      error: null
    }
    const parsed = DetectTask.ResultData.parse(raw) as Record<string, unknown>
    expect(parsed.queue_position).toBe(3)
    expect(parsed).toEqual(raw)
  })

  it("accepts facedet's face extension and validates it", () => {
    const face = {
      id: 0,
      link: "https://h/crop.jpg",
      box: [10, 20, 30, 31],
      score: 0.93,
      landmarks: { right_eye: [15, 25], left_eye: [30, 25] },
      first_seen_ms: 0,
      last_seen_ms: 1500
    }
    const data = { detect_task_id: "t", status: "succeeded", result: { id: "d", status: "succeed", faces: [face] } }
    expect(DetectTask.ResultData.parse(data).result?.faces[0]).toEqual(face)

    const bad = { ...data, result: { ...data.result, faces: [{ ...face, score: 1.5 }] } }
    const decoded = Wire.decodeResponse(DetectTask.ResultData, bad, { path: "data" })
    expect(Either.isLeft(decoded) && decoded.left.path).toBe("data.result.faces.0.score")
  })

  it("treats an unknown status string as data, not a crash", () => {
    const parsed = DetectTask.ResultData.parse({ detect_task_id: "t", status: "queued", result: null, error: null })
    expect(parsed.status).toBe("queued")
    expect(DetectTask.isSucceeded(parsed)).toBe(false)
  })

  it("rejects wrong types with a readable path", () => {
    const raw = dataOf("result-succeeded") as { result: { faces: Array<{ id: unknown }> } }
    raw.result.faces[1]!.id = "1"
    const decoded = Wire.decodeResponse(DetectTask.ResultData, raw, { path: "data" })
    expect(Either.isLeft(decoded)).toBe(true)
    if (Either.isLeft(decoded)) {
      expect(decoded.left._tag).toBe("DecodeError")
      expect(decoded.left.path).toBe("data.result.faces.1.id")
      expect(decoded.left.message).toMatch(/data\.result\.faces\.1\.id: .*expected number/)
    }
  })

  it("rejects a succeeded task without its result", () => {
    const decoded = Wire.decodeResponse(DetectTask.ResultData, {
      detect_task_id: "t",
      status: "succeeded",
      result: null
    })
    expect(Either.isLeft(decoded) && decoded.left.path).toBe("result")
  })

  it("rejects a missing task id and a non-object body", () => {
    expect(DetectTask.ResultData.safeParse({ status: "processing" }).success).toBe(false)
    expect(DetectTask.ResultData.safeParse("<html>").success).toBe(false)
    expect(DetectTask.ResultData.safeParse(null).success).toBe(false)
  })

  describe("create bodies", () => {
    it("accept http(s) URLs and trim them", () => {
      expect(DetectTask.CreateImageBody.parse({ image_url: " https://x.test/a.jpg " }).image_url).toBe(
        "https://x.test/a.jpg"
      )
      expect(DetectTask.CreateVideoBody.parse({ video_url: "http://x.test/a.mp4" }).video_url).toBe(
        "http://x.test/a.mp4"
      )
    })

    it("take embeddings: true or false, and refuse anything else with a 422 naming it", () => {
      expect(DetectTask.CreateImageBody.parse({ image_url: "https://x.test/a.jpg", embeddings: true }).embeddings).toBe(
        true
      )
      expect(DetectTask.CreateVideoBody.parse({ video_url: "https://x.test/a.mp4" }).embeddings).toBeUndefined()
      const decoded = Wire.decodeRequest(DetectTask.CreateVideoBody, {
        video_url: "https://x.test/a.mp4",
        embeddings: "yes"
      })
      expect(Either.isLeft(decoded)).toBe(true)
      if (Either.isLeft(decoded)) {
        expect(decoded.left.code).toBe(422)
        expect(decoded.left.issues[0]?.path).toBe("embeddings")
        expect(decoded.left.message).toContain("embeddings must be true or false")
      }
    })

    it.each([
      [{}, "image_url"],
      [{ image_url: 3 }, "image_url"],
      [{ image_url: "" }, "image_url"],
      [{ image_url: "ftp://x.test/a.jpg" }, "image_url"],
      [{ image_url: "file:///etc/passwd" }, "image_url"],
      [{ image_url: "not a url" }, "image_url"],
      [{ image_url: `https://x.test/${"a".repeat(5000)}` }, "image_url"]
    ])("reject %j with a 422 naming %s", (body, path) => {
      const decoded = Wire.decodeRequest(DetectTask.CreateImageBody, body)
      expect(Either.isLeft(decoded)).toBe(true)
      if (Either.isLeft(decoded)) {
        expect(decoded.left.code).toBe(422)
        expect(decoded.left.issues[0]?.path).toBe(path)
        expect(decoded.left.message).toContain("image_url")
      }
    })
  })
})
