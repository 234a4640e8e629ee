import { DetectTask, FaceDetError } from "@facedet/core"
import * as Crun from "@facedet/testkit/Crun"
import { describe, expect, it } from "vitest"
import * as CliError from "../src/CliError.js"
import * as Render from "../src/Render.js"

const fixture = (name: `${Crun.Name}.json`) =>
  DetectTask.ResultData.parse((Crun.body(name.replace(/\.json$/, "") as Crun.Name) as { data: unknown }).data)

describe("Render.result", () => {
  it("a succeeded task: a summary, the detect_id and its expiry, one line per face", () => {
    const data = fixture("result-succeeded.json")
    expect(Render.result(data, { expiresAt: Date.UTC(2026, 4, 27, 13, 14, 3) })).toEqual([
      "detect task dit60yt8reqplt1c16 succeeded: 2 faces",
      "detect_id m1oZzqYp9dN  valid until 2026-05-27 13:14:03 UTC; a swap must use the same media URL",
      "face 0  https://example.com/detected-face-0.jpg",
      "face 1  https://example.com/detected-face-1.jpg"
    ])
  })

  it("facedet's box, score and video timing when present", () => {
    expect(
      Render.face({
        id: 2,
        link: "https://x/2.jpg",
        box: [10, 20.04, 30.25, 31],
        score: 0.9351,
        first_seen_ms: 0,
        last_seen_ms: 3250
      })
    ).toBe("face 2  https://x/2.jpg  box 10,20,30.3,31  score 0.94  seen 0.0s-3.3s")
  })

  it("in-flight and failed tasks", () => {
    expect(Render.result(fixture("result-processing.json"))).toEqual(["detect task dit9ka6i5qoc519iv0 processing"])
    expect(Render.result(fixture("result-failed.json"))).toEqual([
      "detect task dit9ka6i5qoc519iv0 failed: FaceSwap.Detect.Failed: [任务NDm40D2DQp6] 未检测到人脸,源文件未检测到人脸"
    ])
  })

  it("a local result says its detect_id is known to no server", () => {
    expect(Render.result(fixture("result-succeeded.json"), "local")[1]).toBe(
      "detect_id m1oZzqYp9dN  (local detection: no server knows it)"
    )
  })

  it("--json is the data as parsed, unknown fields kept, boxes and points on one line", () => {
    const data = { ...fixture("result-succeeded.json"), from_a_newer_server: 1 }
    expect(JSON.parse(Render.json(data))).toEqual(data)
    const face = { id: 0, link: "l", box: [1, 2.5, 3, 4], landmarks: { right_eye: [5, 6] }, tags: ["a"], e: [] }
    expect(Render.json(face)).toBe(
      [
        "{",
        '  "id": 0,',
        '  "link": "l",',
        '  "box": [1, 2.5, 3, 4],',
        '  "landmarks": {',
        '    "right_eye": [5, 6]',
        "  },",
        '  "tags": [',
        '    "a"',
        "  ],",
        '  "e": []',
        "}"
      ].join("\n")
    )
  })
})

describe("Render.error", () => {
  it("a wait timeout says how to resume", () => {
    const lines = Render.error(
      new FaceDetError.WaitTimeout({ taskId: "dit1", timeoutMs: 90_000, lastStatus: "processing" })
    )
    expect(lines).toEqual([
      "error: gave up waiting after 1m 30s (last status: processing)",
      "hint: detect task dit1 continues on the server; resume with: facedet result dit1 --wait"
    ])
  })

  it("an unauthorized answer points at the key, and whether one was given", () => {
    const given = Render.error(new FaceDetError.Unauthorized(), { baseUrl: "https://api.crun.ai", hasApiKey: true })
    expect(given[1]).toBe("hint: https://api.crun.ai refused the API key: check --api-key / FACEDET_API_KEY")
    expect(Render.error(new FaceDetError.Unauthorized(), { hasApiKey: false })[1]).toContain("no API key was given")
  })

  it("a rate limit repeats the server's Retry-After", () => {
    const lines = Render.error(new FaceDetError.RateLimited({ retryAfterMs: 120_000 }), { baseUrl: "http://h" })
    expect(lines[1]).toBe("hint: http://h asked to wait 2m 00s before trying again")
  })

  it("a local file for crun.ai suggests --local or facedet serve", () => {
    const lines = Render.error(new CliError.UploadUnsupported({ baseUrl: "https://api.crun.ai", path: "me.jpg" }))
    expect(lines[0]).toBe("error: https://api.crun.ai takes media by URL only, and me.jpg is a local file")
    expect(lines[1]).toContain("--local")
    expect(lines[1]).toContain("facedet serve")
  })

  it("knows every failure the commands raise", () => {
    expect(Render.isRenderable(new CliError.MissingApiKey({ baseUrl: "b" }))).toBe(true)
    expect(Render.isRenderable(new FaceDetError.DecodeError({ message: "x" }))).toBe(true)
    expect(Render.isRenderable(new Error("x"))).toBe(false)
  })
})
