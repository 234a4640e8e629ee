import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import { Upload } from "../src/index.js"

describe("Upload", () => {
  it("reads an upload answer and refuses a URL that is not http(s)", () => {
    expect(Upload.UploadData.parse({ url: "http://127.0.0.1:8080/uploads/abc" }).url).toBe(
      "http://127.0.0.1:8080/uploads/abc"
    )
    expect(Upload.UploadData.safeParse({ url: "file:///etc/passwd" }).success).toBe(false)
    expect(Upload.UploadData.safeParse({}).success).toBe(false)
  })

  it("accepts image/* and video/* content types without parameters", () => {
    expect(Upload.contentTypePattern.test("image/jpeg")).toBe(true)
    expect(Upload.contentTypePattern.test("video/mp4")).toBe(true)
    expect(Upload.contentTypePattern.test("text/html")).toBe(false)
    expect(Upload.contentTypePattern.test("image/jpeg; charset=utf-8")).toBe(false)
    expect(Duration.toMillis(Upload.validity)).toBe(3_600_000)
  })
})
