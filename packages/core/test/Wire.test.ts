import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { DetectTask, Envelope, Wire } from "../src/index.js"

describe("Wire", () => {
  it("decodes a valid body", () => {
    expect(Wire.decodeResponse(DetectTask.CreateData, { detect_task_id: "t" })).toEqual(
      Either.right({ detect_task_id: "t" })
    )
  })

  it("names the first wrong field and carries the HTTP status", () => {
    const r = Wire.decodeResponse(
      Envelope.RawEnvelope,
      { code: "200", message: 1 },
      { httpStatus: 200, what: "envelope" }
    )
    expect(Either.isLeft(r)).toBe(true)
    if (Either.isLeft(r)) {
      expect(r.left._tag).toBe("DecodeError")
      expect(r.left.path).toBe("code")
      expect(r.left.httpStatus).toBe(200)
      expect(r.left.message).toMatch(/^unexpected envelope: code: .*; message: /)
    }
  })

  it("turns a bad request into a 422 listing every issue", () => {
    const r = Wire.decodeRequest(DetectTask.CreateVideoBody, { video_url: 5 })
    expect(Either.isLeft(r) && r.left).toMatchObject({ _tag: "ValidationError", code: 422 })
    if (Either.isLeft(r)) expect(r.left.issues.map((i) => i.path)).toEqual(["video_url"])
  })
})
