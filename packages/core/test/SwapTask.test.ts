import { describe, expect, it } from "@effect/vitest"
import { Envelope, SwapTask } from "../src/index.js"
import { body as crun } from "@facedet/testkit/Crun"

describe("SwapTask wire schemas", () => {
  it("accepts the documented multi-face swap request", () => {
    const body = SwapTask.CreateTaskBody.parse(crun("swap-multi-request"))
    expect(body.model).toBe("image-face-swap-multi")
    if (body.model === "image-face-swap-multi") {
      expect(body.input.detect_id).toBe("m1oZzqYp9dN")
      expect(body.input.faces).toHaveLength(2)
    }
  })

  it("accepts the documented CreateTask and TaskInfo answers", () => {
    expect(Envelope.success(SwapTask.CreateTaskData).parse(crun("swap-create-ok")).data.task_id).toBe("task_12345678")
    const info = Envelope.success(SwapTask.TaskInfoData).parse(crun("taskinfo-running")).data
    expect(info.status).toBe("running")
    expect(info.create_at).toBe(1768900378)
    expect((info as Record<string, unknown>).provider).toBe("Google")
  })

  it("rejects an unknown model and a multi swap without faces, naming the field", () => {
    const unknown = SwapTask.CreateTaskBody.safeParse({ model: "text-to-image", input: {} })
    expect(unknown.success).toBe(false)
    const noFaces = SwapTask.CreateTaskBody.safeParse({
      model: "video-face-swap-multi",
      input: { detect_id: "d", video_url: "https://x.test/v.mp4", faces: [] }
    })
    expect(noFaces.success).toBe(false)
    expect(noFaces.error?.issues[0]?.path).toEqual(["input", "faces"])
  })

  it("knows terminal TaskInfo words and treats others as in flight", () => {
    expect(SwapTask.isTerminalInfoStatus("running")).toBe(false)
    expect(SwapTask.isTerminalInfoStatus("mystery")).toBe(false)
    expect(SwapTask.isTerminalInfoStatus("succeeded")).toBe(true)
    expect(SwapTask.isTerminalInfoStatus("FAILED")).toBe(true)
    expect(SwapTask.isFailedInfoStatus("failed")).toBe(true)
    expect(SwapTask.isFailedInfoStatus("completed")).toBe(false)
  })
})
