/**
 * Parts of a baseline JPEG as one small JPEG, without decoding a pixel (what `jpegtran -crop` does, for several
 * parts at once).
 *
 * Why: the second look needs a few windows of a large photo at full resolution, while the search reads it at a
 * fraction of that. Decoding the whole 3000x2000 photo again for a dozen windows cost 24-42 ms of CPU and an 18 MB
 * raster. Here the entropy-coded data is walked once (Huffman codes only: no dequantisation, no IDCT, no colour
 * conversion; in WebAssembly, `jpegWalk`) up to the last MCU a part needs. The MCUs of each part are then written,
 * one part under the other, into a new JPEG with the same quantisation and AC tables, which sharp decodes as a small
 * image.
 *
 * The pixels are exactly those of the whole image's decode. Chroma upsampling reads the neighbouring samples, so each
 * part is widened by one MCU on every side where the image goes on; where it does not, the part's edge is put on the
 * cut's edge: the parts on the image's top edge share one band at the top of the cut, those on its bottom edge one at
 * the bottom, a part on its right edge ends at the cut's right edge, and the cut ends, like the image, before the
 * padding of partial MCUs. Other columns repeat a cover's first or last MCU column. DC coefficients are coded as
 * differences from the block before, so every block's DC is written again, with the standard DC table (which has a
 * code for every difference); the AC bits are copied as they are. Restart markers in the source are followed and
 * dropped.
 */
import { BitWriter, type Huffman, header as readHeader, standardDc, table, Unsupported, writeDc } from "./jpegCoding.js"
import * as JpegWalk from "./jpegWalk.js"

export { Unsupported }

/** A part of the source: `[left, top, width, height]` in its pixels. */
export type Rect = readonly [number, number, number, number]

/** Where a part's MCU-aligned cover is: its top-left in the source, and where it starts in the cut. */
export interface Cover {
  readonly left: number
  readonly top: number
  readonly x: number
  readonly y: number
}

/** A cover in MCUs: columns `c0`..`c1` and rows `r0`..`r1`, ends excluded. */
interface Span {
  readonly c0: number
  readonly r0: number
  readonly c1: number
  readonly r1: number
}

export interface Cut {
  readonly jpeg: Uint8Array
  readonly width: number
  readonly height: number
  /** One per part, in order (parts on the same edge of the image share one). */
  readonly covers: ReadonlyArray<Cover>
}

/** The largest width or height a JPEG can state (a 16-bit field), which a cut stays within. */
const maxSide = 65535

/** Application segments a decoder reads: JFIF (APP0), the ICC profile (APP2), Adobe's colour transform (APP14). */
const keptApps = new Set([0xe0, 0xe2, 0xee])

/** A DHT segment holding `tables` (`[class, id, table]`). */
const huffmanSegment = (tables: ReadonlyArray<readonly [number, number, Huffman]>): Uint8Array => {
  const length = 2 + tables.reduce((n, [, , t]) => n + 17 + t.symbols.length, 0)
  const out = new Uint8Array(2 + length)
  out.set([0xff, 0xc4, length >> 8, length & 0xff])
  let at = 4
  for (const [klass, id, t] of tables) {
    out[at] = (klass << 4) | id
    out.set(t.counts, at + 1)
    out.set(t.symbols, at + 17)
    at += 17 + t.symbols.length
  }
  return out
}

/**
 * The parts `rects` of `jpeg` as one JPEG, each part's cover under the one before. Throws `Unsupported` for a JPEG
 * it cannot cut (see `jpegCoding.header`; also 2 or 4 components) and when the covers hold more than `maxPixels`,
 * before walking anything.
 */
export const cut = (jpeg: Uint8Array, rects: ReadonlyArray<Rect>, maxPixels: number): Cut => {
  if (rects.length === 0) throw new Unsupported("no parts")
  const h = readHeader(jpeg)
  const single = h.components.length === 1
  if (!single && h.components.length !== 3) throw new Unsupported(`${h.components.length} components`)
  // One component is coded block by block, whatever its sampling factors say.
  const mcuWidth = single ? 8 : 8 * Math.max(...h.components.map((c) => c.h))
  const mcuHeight = single ? 8 : 8 * Math.max(...h.components.map((c) => c.v))
  const blocks = single ? [1] : h.scan.map((s) => s.component.h * s.component.v)
  const perMcu = blocks.reduce((a, b) => a + b, 0)
  const mcusPerRow = Math.ceil(h.width / mcuWidth)
  const mcuRows = Math.ceil(h.height / mcuHeight)
  const around = rects.map(([left, top, width, height]) => {
    const c0 = Math.max(0, Math.floor(left / mcuWidth) - 1)
    const r0 = Math.max(0, Math.floor(top / mcuHeight) - 1)
    const c1 = Math.min(mcusPerRow, Math.ceil((left + width) / mcuWidth) + 1)
    const r1 = Math.min(mcuRows, Math.ceil((top + height) / mcuHeight) + 1)
    if (!(c1 > c0 && r1 > r0)) throw new Unsupported("a part outside the image")
    return { c0, r0, c1, r1 }
  })
  // A cover has a block of margin where the image goes on, but not at its edges. There, the decoder's upsampling
  // must see the edge as the whole image's decode does: the covers on the top edge become one band at the top of the
  // cut, those on the bottom edge one band at its bottom (ending where the image ends), and a cover on the right edge
  // ends where the cut's right edge ends (ending where the image ends). Covers on the left edge start at the cut's.
  const union = (spans: ReadonlyArray<Span>): Span => ({
    c0: Math.min(...spans.map((s) => s.c0)),
    r0: Math.min(...spans.map((s) => s.r0)),
    c1: Math.max(...spans.map((s) => s.c1)),
    r1: Math.max(...spans.map((s) => s.r1))
  })
  const spans: Array<Span> = []
  const coverOf: Array<number> = []
  if (around.some((s) => s.r0 === 0 && s.r1 === mcuRows)) {
    spans.push(union(around))
    coverOf.push(...around.map(() => 0))
  } else {
    const top = around.filter((s) => s.r0 === 0)
    const bottom = around.filter((s) => s.r1 === mcuRows)
    const inner = around.filter((s) => s.r0 > 0 && s.r1 < mcuRows)
    if (top.length > 0) spans.push(union(top))
    spans.push(...inner)
    if (bottom.length > 0) spans.push(union(bottom))
    for (const s of around) {
      if (s.r0 === 0) coverOf.push(0)
      else if (s.r1 === mcuRows) coverOf.push(spans.length - 1)
      else coverOf.push((top.length > 0 ? 1 : 0) + inner.indexOf(s))
    }
  }
  // The image's last blocks may be partial: the cut then ends as many pixels early, on the edges it ends with. From a
  // cover not on the right edge that takes less than its margin column, whose first pixels (all that the part's own
  // upsampling reads) stay.
  const wide = Math.max(...spans.map((s) => s.c1 - s.c0))
  const rows = spans.reduce((n, s) => n + s.r1 - s.r0, 0)
  const right = spans.some((s) => s.c1 === mcusPerRow) ? mcusPerRow * mcuWidth - h.width : 0
  const bottom = spans[spans.length - 1]!.r1 === mcuRows ? mcuRows * mcuHeight - h.height : 0
  const width = wide * mcuWidth - right
  const height = rows * mcuHeight - bottom
  if (width > maxSide || height > maxSide || width * height > maxPixels) throw new Unsupported("parts too large")

  const slots = new Int32Array(mcusPerRow * mcuRows).fill(-1)
  let count = 0
  let last = -1
  for (const { c0, r0, c1, r1 } of spans) {
    for (let r = r0; r < r1; r++) {
      for (let c = c0; c < c1; c++) {
        const mcu = r * mcusPerRow + c
        if (slots[mcu]! < 0) slots[mcu] = count++
        last = Math.max(last, mcu)
      }
    }
  }
  const dcTables = h.scan.map((s) => table(h.dc, s.dc))
  const acTables = h.scan.map((s) => table(h.ac, s.ac))
  const components = JpegWalk.blockComponents(blocks)
  const walked = JpegWalk.walk(jpeg, h.dataAt, components, dcTables, acTables, h.restartInterval, slots, count, last)
  if (walked === undefined) throw new Unsupported("a marker inside the data, bits that are no code, or too few")
  const data = walked.data
  const recorded = walked.blocks

  const writer = new BitWriter(Math.ceil((data.length * count) / (last + 1)) + 1024)
  const prediction = new Int32Array(blocks.length)
  const placed: Array<Cover> = []
  let y = 0
  for (const { c0, r0, c1, r1 } of spans) {
    // Right-aligned when on the image's right edge only; the other columns repeat the cover's first or last one.
    const shift = c1 === mcusPerRow && c0 > 0 ? wide - (c1 - c0) : 0
    placed.push({ left: c0 * mcuWidth, top: r0 * mcuHeight, x: shift * mcuWidth, y })
    y += (r1 - r0) * mcuHeight
    for (let r = r0; r < r1; r++) {
      for (let c = 0; c < wide; c++) {
        const column = Math.min(c1 - 1, c0 + Math.max(0, c - shift))
        let k = slots[r * mcusPerRow + column]! * perMcu
        for (let component = 0; component < blocks.length; component++) {
          for (let b = 0; b < blocks[component]!; b++, k++) {
            writeDc(writer, standardDc, recorded.dc[k]! - prediction[component]!)
            prediction[component] = recorded.dc[k]!
            writer.copy(data, recorded.from[k]!, recorded.to[k]!)
          }
        }
      }
    }
  }
  const bits = writer.finish()

  // The header: the segments a decoder needs, the frame's new size, the standard DC table with the source's AC
  // tables, the scan header; then the data and EOI.
  const parts: Array<Uint8Array> = [new Uint8Array([0xff, 0xd8])]
  const huffman = huffmanSegment([
    ...[...new Set(h.scan.map((s) => s.dc))].map((id) => [0, id, standardDc] as const),
    ...[...new Set(h.scan.map((s) => s.ac))].map((id) => [1, id, table(h.ac, id)] as const)
  ])
  for (const [marker, start, stop] of h.segments) {
    const segment = jpeg.subarray(start, stop)
    if (marker === 0xc0 || marker === 0xc1) {
      const frame = segment.slice()
      frame.set([height >> 8, height & 0xff, width >> 8, width & 0xff], 5)
      parts.push(frame)
    } else if (marker === 0xda) {
      parts.push(huffman, segment)
    } else if (marker === 0xdb || keptApps.has(marker)) {
      parts.push(segment)
    }
  }
  parts.push(bits, new Uint8Array([0xff, 0xd9]))
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return { jpeg: out, width, height, covers: coverOf.map((i) => placed[i]!) }
}
