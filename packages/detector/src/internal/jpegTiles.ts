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

import { BitWriter, type Huffman, header as readHeader, table, Unsupported, writeDc } from "./jpegCoding.js"
import * as JpegWalk from "./jpegWalk.js"

export { Unsupported }

/** A tile's first DC code of one component: where it is, how long, and its value against zero. */
interface Patch {
  readonly at: number
  readonly length: number
  readonly value: number
  readonly table: Huffman
}

/**
 * Where each tile starts in the unstuffed data, and its first DC codes, from the walk over every coefficient
 * (`jpegWalk`, in WebAssembly: a strip's cut takes 0.13 ms a crop, 0.21 with a walk in JavaScript). Only a tile's
 * first MCU and the MCU before it are recorded: a block's DC code starts where the block before it ends.
 */
const tileStarts = (
  jpeg: Uint8Array,
  dataAt: number,
  dcTables: ReadonlyArray<Huffman>,
  acTables: ReadonlyArray<Huffman>,
  blocks: ReadonlyArray<number>,
  mcusPerTile: number,
  count: number
): { tiles: Array<{ start: number; patches: Array<Patch> }>; data: Uint8Array; end: number } => {
  const last = mcusPerTile * count - 1
  const slots = new Int32Array(last + 1).fill(-1)
  let recorded = 0
  for (let t = 0; t < count; t++) {
    const first = t * mcusPerTile
    if (first > 0 && slots[first - 1]! < 0) slots[first - 1] = recorded++
    slots[first] = recorded++
  }
  const components = JpegWalk.blockComponents(blocks)
  const walked = JpegWalk.walk(jpeg, dataAt, components, dcTables, acTables, 0, slots, recorded, last)
  if (walked === undefined) throw new Unsupported("entropy-coded data that does not decode")
  const { dc, from, to } = walked.blocks
  const perMcu = components.length
  const tiles = Array.from({ length: count }, (_, t) => {
    const first = slots[t * mcusPerTile]! * perMcu
    const before = t > 0 ? slots[t * mcusPerTile - 1]! * perMcu + perMcu - 1 : -1
    /** Where block `b` of the tile's first MCU starts: where the block before it ends. */
    const startOf = (b: number) => (b > 0 ? to[first + b - 1]! : before >= 0 ? to[before]! : 0)
    const patches: Array<Patch> = []
    for (let c = 0, b = 0; c < blocks.length; b += blocks[c]!, c++) {
      const at = startOf(b)
      patches.push({ at, length: from[first + b]! - at, value: dc[first + b]!, table: dcTables[c]! })
    }
    return { start: startOf(0), patches }
  })
  return { tiles, data: walked.data, end: walked.end }
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
  const dcTables = scan.map((s) => table(h.dc, s.dc))
  const acTables = scan.map((s) => table(h.ac, s.ac))

  const mcusPerRow = Math.ceil(width / (8 * hMax))
  const mcusPerTile = mcusPerRow * (tileHeight / (8 * vMax))
  const blocks = scan.map((s) => s.component.h * s.component.v)
  // The data is a view of the walker's memory, valid until its next walk: every tile is written before then.
  const { tiles, data, end } = tileStarts(jpeg, h.dataAt, dcTables, acTables, blocks, mcusPerTile, count)

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
