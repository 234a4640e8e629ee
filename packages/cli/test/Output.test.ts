import { describe, expect, it } from "vitest"
import * as Effect from "effect/Effect"
import * as Output from "../src/Output.js"

const sink = (isTTY: boolean) => {
  const chunks: Array<string> = []
  return { chunks, write: (c: string) => chunks.push(c), isTTY, columns: 30 }
}

describe("Output", () => {
  it("in a pipe the status line is silent and results and messages are plain lines", () => {
    const out = sink(false)
    const err = sink(false)
    const output = Output.make(out, err)
    Effect.runSync(
      Effect.all([output.status("detect task x: processing, 3s"), output.out("result"), output.err("note")])
    )
    expect(out.chunks).toEqual(["result\n"])
    expect(err.chunks).toEqual(["note\n"])
  })

  it("on a terminal the status line is redrawn in place, cut to the width, and cleared before other output", () => {
    const out = sink(false)
    const err = sink(true)
    const output = Output.make(out, err)
    Effect.runSync(output.status("detect task dit60yt8reqplt1c16: processing, 12s"))
    expect(err.chunks[0]).toBe("\r\x1b[2Kdetect task dit60yt8reqplt1c…")
    Effect.runSync(output.out("result"))
    expect(err.chunks[1]).toBe("\r\x1b[2K")
    Effect.runSync(output.err("note"))
    expect(err.chunks.slice(2)).toEqual(["note\n"])
  })

  it("a terminal that reports no width (0 columns) gets 80, not a 20-character line", () => {
    const err = { ...sink(true), columns: 0 }
    const line = "detect task dit60yt8reqplt1c16: processing, 12s"
    Effect.runSync(Output.make(sink(false), err).status(line))
    expect(err.chunks[0]).toBe(`\r\x1b[2K${line}`)
  })
})
