/**
 * One JPEG per tile from one JPEG of all the tiles stacked vertically.
 *
 * Why: sharp's fixed cost per JPEG (pipeline and encoder set-up, about 1 ms) is most of what a 256x256 face crop
 * costs to encode. Encoding the crops of an image as one tall strip pays it once; this module then cuts the strip's
 * entropy-coded data at tile boundaries, without decoding a pixel: a baseline JPEG's MCUs are coded one after the
 * other, so a tile whose height is a multiple of the MCU height is a contiguous run of bits. Only the first DC
 * coefficient of each component depends on the tile before (DC values are coded as differences), so those three
 * codes are re-encoded against zero; every other bit is copied.
 *
 * It needs baseline Huffman coding with every DC category in its tables (libjpeg's standard tables, which sharp
 * writes with `optimiseCoding: false`), no restart markers and one scan; anything else throws `Unsupported`, and
 * the caller encodes tile by tile instead.
 */

import {
  BitWriter,
  fastBits,
  header as readHeader,
  type Huffman,
  slowCode,
  table,
  Unsupported,
  unstuff,
  writeDc
} from "./jpegCoding.js"

export { Unsupported }

/** A tile's first DC code of one component: where it is, how long, and its value against zero. */
interface Patch {
  readonly at: number
  readonly length: number
  readonly value: number
  readonly table: Huffman
}

/**
 * The walk over every coefficient, most of the module's time: where each tile starts, and its first DC codes.
 * Reads through a 32-bit window refilled a byte at a time (`buffer` holds `held` bits, most significant first), so a
 * code costs a table lookup and a shift; the window never holds fewer than 25 bits before a code is read.
 */
const walk = (
  data: Uint8Array,
  dcTables: ReadonlyArray<Huffman>,
  acTables: ReadonlyArray<Huffman>,
  blocks: ReadonlyArray<number>,
  mcusPerTile: number,
  count: number
): { tiles: Array<{ start: number; patches: Array<Patch> }>; end: number } => {
  const tiles: Array<{ start: number; patches: Array<Patch> }> = []
  const pred = new Int32Array(blocks.length)
  let next = 0
  let buffer = 0
  let held = 0
  for (let mcu = 0; mcu < mcusPerTile * count; mcu++) {
    const first = mcu % mcusPerTile === 0
    if (first) tiles.push({ start: next * 8 - held, patches: [] })
    for (let c = 0; c < blocks.length; c++) {
      const dcTable = dcTables[c]!
      const acTable = acTables[c]!
      const fastAc = acTable.fast
      for (let b = 0; b < blocks[c]!; b++) {
        while (held <= 24) {
          buffer |= data[next++]! << (24 - held)
          held += 8
        }
        const at = next * 8 - held
        let d = dcTable.fast[buffer >>> (32 - fastBits)]!
        if (d === 0) d = slowCode(dcTable, buffer)
        buffer <<= d >>> 8
        held -= d >>> 8
        const s = d & 0xff
        let diff = 0
        if (s > 0) {
          while (held <= 24) {
            buffer |= data[next++]! << (24 - held)
            held += 8
          }
          const bits = buffer >>> (32 - s)
          buffer <<= s
          held -= s
          diff = bits < 1 << (s - 1) ? bits - (1 << s) + 1 : bits
        }
        pred[c] = pred[c]! + diff
        if (first && b === 0) {
          tiles[tiles.length - 1]!.patches.push({ at, length: next * 8 - held - at, value: pred[c]!, table: dcTable })
        }
        for (let k = 1; k < 64; ) {
          while (held <= 24) {
            buffer |= data[next++]! << (24 - held)
            held += 8
          }
          let a = fastAc[buffer >>> (32 - fastBits)]!
          if (a === 0) a = slowCode(acTable, buffer)
          const rs = a & 0xff
          const size = rs & 15
          // The code (<= 16 bits) and its extra bits (<= 15): at most 31, and the window holds at least 25, so the
          // extra bits may need one more refill first.
          const length = a >>> 8
          buffer <<= length
          held -= length
          if (size > 0) {
            if (held < size) {
              buffer |= data[next++]! << (24 - held)
              held += 8
            }
            buffer <<= size
            held -= size
          }
          if (size === 0) {
            if (rs !== 0xf0) break
            k += 16
          } else k += (rs >> 4) + 1
        }
      }
    }
  }
  return { tiles, end: next * 8 - held }
}

/**
 * Splits `jpeg` (`count` tiles of equal height stacked vertically) into one JPEG per tile, top to bottom.
 * Throws `Unsupported` for a JPEG it cannot cut.
 */
export const split = (jpeg: Uint8Array, count: number): Array<Uint8Array> => {
  const h = readHeader(jpeg)
  if (h.restartInterval > 0) throw new Unsupported("restart markers")
  const { width, height, components, sofAt, scan } = h
  const hMax = Math.max(...components.map((c) => c.h))
  const vMax = Math.max(...components.map((c) => c.v))
  const tileHeight = height / count
  if (!Number.isInteger(tileHeight) || tileHeight % (8 * vMax) !== 0) throw new Unsupported("tiles off the MCU grid")
  const header = jpeg.subarray(0, h.dataAt)
  const { data } = unstuff(jpeg, h.dataAt)
  const dcTables = scan.map((s) => table(h.dc, s.dc))
  const acTables = scan.map((s) => table(h.ac, s.ac))

  const mcusPerRow = Math.ceil(width / (8 * hMax))
  const mcusPerTile = mcusPerRow * (tileHeight / (8 * vMax))
  const blocks = scan.map((s) => s.component.h * s.component.v)
  const { tiles, end } = walk(data, dcTables, acTables, blocks, mcusPerTile, count)

  // Each tile: the header with the tile's height, its bits with the first DC codes re-coded, EOI.
  return tiles.map((tile, t) => {
    const stop = t + 1 < tiles.length ? tiles[t + 1]!.start : end
    const writer = new BitWriter(((stop - tile.start) >>> 3) + 64)
    let cursor = tile.start
    for (const patch of tile.patches) {
      writer.copy(data, cursor, patch.at)
      writeDc(writer, patch.table, patch.value)
      cursor = patch.at + patch.length
    }
    writer.copy(data, cursor, stop)
    const bits = writer.finish()
    const out = new Uint8Array(header.length + bits.length + 2)
    out.set(header)
    const heightAt = sofAt + 5
    out[heightAt] = tileHeight >> 8
    out[heightAt + 1] = tileHeight & 0xff
    out.set(bits, header.length)
    out[out.length - 2] = 0xff
    out[out.length - 1] = 0xd9
    return out
  })
}
