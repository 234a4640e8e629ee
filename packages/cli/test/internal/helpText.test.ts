import { describe, expect, it } from "vitest"
import { commandPath, rewrite } from "../../src/internal/helpText.js"

const commands = new Set(["detect", "faces", "download"])

describe("help text", () => {
  it("finds the command words before the first other argument", () => {
    expect(commandPath(["faces", "download", "--out", "x", "detect"], commands)).toEqual(["faces", "download"])
    expect(commandPath(["--help"], commands)).toEqual([])
    expect(commandPath(["https://x/detect", "detect"], commands)).toEqual([])
  })

  it("shows the executable in a sub-command's usage and drops the types' stock sentences", () => {
    const page = [
      "USAGE",
      "",
      "$ download [--out DIR] <detect_task_id>",
      "",
      "ARGUMENTS",
      "",
      "<detect_task_id>",
      "",
      "  A user-defined piece of text.",
      "",
      "  The task id.",
      "",
      "--json",
      "",
      "  \x1b[1mA true or false value.\x1b[0m",
      "",
      "  Print JSON.",
      "",
      "--mode",
      "",
      "  One of the following: a, b",
      ""
    ].join("\n")
    const out = rewrite(`facedet\n\n${page}`, "facedet", ["faces", "download"])
    expect(out).toContain("$ facedet faces download [--out DIR] <detect_task_id>")
    expect(out).not.toContain("A user-defined piece of text.")
    expect(out).not.toContain("A true or false value.")
    expect(out).toContain("<detect_task_id>\n\n  The task id.\n\n--json\n\n  Print JSON.")
    expect(out).toContain("One of the following: a, b")
  })

  it("leaves other text and the root command's usage alone", () => {
    expect(rewrite("A true or false value.\n", "facedet", ["detect"])).toBe("A true or false value.\n")
    const root = "facedet\n\nUSAGE\n\n$ facedet <command>\n"
    expect(rewrite(root, "facedet", [])).toBe(root)
  })
})
