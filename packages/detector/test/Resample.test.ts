import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { assemble } from "../scripts/wasm.mjs"
import * as Resample from "../src/internal/resample.js"
import { base64 } from "../src/internal/resampleWasm.js"

/** The same tent filter in floating point, one output value at a time: the reference the kernel must match. */
const reference = (data: Uint8Array, width: number, left: number, top: number, side: number, size: number) => {
  const scale = side / size
  const radius = Math.max(1, scale)
  const taps = (i: number) => {
    const center = (i + 0.5) * scale
    const out: Array<[number, number]> = []
    for (let j = Math.max(0, Math.floor(center - radius)); j <= Math.min(side - 1, Math.ceil(center + radius)); j++) {
      const w = 1 - Math.abs(j + 0.5 - center) / radius
      if (w > 0) out.push([j, w])
    }
    const total = out.reduce((a, [, w]) => a + w, 0)
    return out.map(([j, w]): [number, number] => [j, w / total])
  }
  const out = new Uint8Array(size * size * 3)
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) {
        let v = 0
        for (const [sy, wy] of taps(y)) {
          for (const [sx, wx] of taps(x)) v += wy * wx * data[((top + sy) * width + left + sx) * 3 + c]!
        }
        out[(y * size + x) * 3 + c] = Math.round(v)
      }
    }
  }
  return out
}

const noise = (width: number, height: number) => {
  const data = new Uint8Array(width * height * 3)
  for (let i = 0; i < data.length; i++) data[i] = (Math.imul(i, 2654435761) >>> 24) & 0xff
  return data
}

describe("Resample", () => {
  it("runs the module assembled from resample.wat (run scripts/build-wasm.mjs after editing it)", async () => {
    const text = readFileSync(new URL("../src/internal/resample.wat", import.meta.url), "utf8")
    expect(Buffer.from(await assemble(text)).toString("base64")).toBe(base64)
  })

  it("matches the floating-point filter within two levels, enlarging, keeping and reducing, at any offset", () => {
    const [width, height] = [97, 83] // every square below lies inside
    const data = noise(width, height)
    for (const [left, top, side, size] of [
      [0, 0, 13, 64],
      [40, 30, 41, 41],
      [5, 5, 77, 24],
      [96, 82, 1, 16],
      [3, 1, 60, 20]
    ] as const) {
      const out = new Uint8Array(size * size * 3)
      Resample.square(data, width, left, top, side, size, out)
      const expected = reference(data, width, left, top, side, size)
      let worst = 0
      for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - expected[i]!))
      // 8-bit weights and a rounding between the passes: off by at most one or two levels.
      expect(worst, `${side} -> ${size}`).toBeLessThanOrEqual(2)
    }
  })

  it("scales a square too large to keep in the shared memory, and keeps working after it", () => {
    const side = 1800 // 9.7 MB of source: an instance of its own
    const data = new Uint8Array(side * side * 3).fill(200)
    const out = new Uint8Array(64 * 64 * 3)
    Resample.square(data, side, 0, 0, side, 64, out)
    expect(out.every((v) => v === 200)).toBe(true)
    const small = noise(20, 20)
    const again = new Uint8Array(16 * 16 * 3)
    Resample.square(small, 20, 2, 2, 16, 16, again)
    expect(again).toEqual(reference(small, 20, 2, 2, 16, 16))
  })
})
