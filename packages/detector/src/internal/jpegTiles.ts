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

/** The strip is not a JPEG this module can cut (the caller falls back to one encode per tile). */
export class Unsupported extends Error {}

interface Huffman {
  /** Decoding: `symbols` in code order; codes of length L are `minCode[L]`..`maxCode[L]`, from `valPtr[L]`. */
  readonly symbols: Uint8Array
  readonly minCode: Int32Array
  readonly maxCode: Int32Array
  readonly valPtr: Int32Array
  /** Encoding: code and length per symbol (length 0: not in the table). */
  readonly code: Int32Array
  readonly length: Uint8Array
  /** The next `fastBits` bits -> (length << 8 | symbol) of the code they start with, 0 when it is longer. */
  readonly fast: Uint16Array
}

/** Codes up to this long (nearly all of them) decode with one table lookup. */
const fastBits = 10

const huffman = (counts: Uint8Array, symbols: Uint8Array): Huffman => {
  const minCode = new Int32Array(17)
  const maxCode = new Int32Array(18).fill(-1)
  const valPtr = new Int32Array(17)
  const code = new Int32Array(256)
  const length = new Uint8Array(256)
  const fast = new Uint16Array(1 << fastBits)
  let next = 0
  let k = 0
  for (let l = 1; l <= 16; l++) {
    valPtr[l] = k
    minCode[l] = next
    for (let i = 0; i < counts[l - 1]!; i++, k++, next++) {
      const symbol = symbols[k]!
      code[symbol] = next
      length[symbol] = l
      if (l <= fastBits) {
        const shift = fastBits - l
        for (let j = next << shift, end = (next + 1) << shift; j < end; j++) fast[j] = (l << 8) | symbol
      }
    }
    maxCode[l] = counts[l - 1]! > 0 ? next - 1 : -1
    next <<= 1
  }
  return { symbols, minCode, maxCode, valPtr, code, length, fast }
}

/**
 * 32 bits of entropy-coded data from bit `at` on, most significant first. `bytes` has its stuffed zero bytes removed
 * and at least four 0xFF bytes after the data (so a read near the end needs no bounds check; JPEG pads with 1-bits
 * too); callers use at most the top 24 bits, which are always valid.
 */
const word = (bytes: Uint8Array, at: number): number => {
  const b = at >>> 3
  return ((bytes[b]! << 24) | (bytes[b + 1]! << 16) | (bytes[b + 2]! << 8) | bytes[b + 3]!) << (at & 7)
}

/** Writes bits into a growing buffer, stuffing a zero byte after every 0xFF. */
class BitWriter {
  private out: Uint8Array
  private size = 0
  private acc = 0
  private bits = 0
  constructor(capacity: number) {
    this.out = new Uint8Array(Math.max(1024, capacity))
  }

  private byte(b: number): void {
    if (this.size + 2 > this.out.length) {
      const grown = new Uint8Array(this.out.length * 2)
      grown.set(this.out)
      this.out = grown
    }
    this.out[this.size++] = b
    if (b === 0xff) this.out[this.size++] = 0
  }

  /** Writes the low `n` (<= 24) bits of `v`. */
  write(v: number, n: number): void {
    this.acc = (this.acc << n) | (v & ((1 << n) - 1))
    this.bits += n
    while (this.bits >= 8) {
      this.bits -= 8
      this.byte((this.acc >>> this.bits) & 0xff)
    }
    this.acc &= (1 << this.bits) - 1
  }

  /**
   * Appends bits `from`..`to` of `data` (unstuffed, as `word` reads it). Byte by byte once the source is aligned:
   * the bits pending in the writer are the only shift, so no per-bit work (this was a quarter of the module's time
   * when copied 24 bits per `write`).
   */
  copy(data: Uint8Array, from: number, to: number): void {
    let at = from
    const lead = Math.min((8 - (at & 7)) & 7, to - at)
    if (lead > 0) {
      this.write(word(data, at) >>> (32 - lead), lead)
      at += lead
    }
    const whole = (to - at) >>> 3
    if (this.size + whole * 2 + 2 > this.out.length) {
      const grown = new Uint8Array(Math.max(this.out.length * 2, this.size + whole * 2 + 2))
      grown.set(this.out.subarray(0, this.size))
      this.out = grown
    }
    const out = this.out
    const pending = this.bits
    let acc = this.acc
    let size = this.size
    for (let b = at >>> 3, end = b + whole; b < end; b++) {
      acc = (acc << 8) | data[b]!
      const byte = (acc >>> pending) & 0xff
      out[size++] = byte
      if (byte === 0xff) out[size++] = 0
      acc &= (1 << pending) - 1
    }
    this.acc = acc
    this.size = size
    at += whole * 8
    if (to > at) this.write(word(data, at) >>> (32 - (to - at)), to - at)
  }

  /** Pads the last byte with 1-bits and returns the bytes. */
  finish(): Uint8Array {
    if (this.bits > 0) this.write(0xff, 8 - this.bits)
    return this.out.subarray(0, this.size)
  }
}

interface Component {
  readonly id: number
  readonly h: number
  readonly v: number
}

/** The category (bit length) of a DC difference and its extra bits, as JPEG codes them. */
const category = (v: number): number => (v === 0 ? 0 : 32 - Math.clz32(Math.abs(v)))

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
  const slow = (h: Huffman, w: number): number => {
    for (let l = fastBits + 1; l <= 16; l++) {
      const c = w >>> (32 - l)
      if (c <= h.maxCode[l]!) return (l << 8) | h.symbols[h.valPtr[l]! + c - h.minCode[l]!]!
    }
    throw new Unsupported("bad Huffman code")
  }
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
        if (d === 0) d = slow(dcTable, buffer)
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
          if (a === 0) a = slow(acTable, buffer)
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
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Unsupported("not a JPEG")
  const dc = new Map<number, Huffman>()
  const ac = new Map<number, Huffman>()
  let components: Array<Component> = []
  let width = 0
  let height = 0
  let sofAt = -1
  let scan: Array<{ component: Component; dc: number; ac: number }> = []
  let i = 2
  // Header segments up to the scan.
  for (;;) {
    if (jpeg[i] !== 0xff) throw new Unsupported("bad marker")
    const marker = jpeg[i + 1]!
    const length = (jpeg[i + 2]! << 8) | jpeg[i + 3]!
    const body = i + 4
    if (marker === 0xc0 || marker === 0xc1) {
      sofAt = i
      height = (jpeg[body + 1]! << 8) | jpeg[body + 2]!
      width = (jpeg[body + 3]! << 8) | jpeg[body + 4]!
      components = []
      for (let c = 0, n = jpeg[body + 5]!; c < n; c++) {
        const at = body + 6 + c * 3
        components.push({ id: jpeg[at]!, h: jpeg[at + 1]! >> 4, v: jpeg[at + 1]! & 15 })
      }
    } else if (marker >= 0xc2 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      throw new Unsupported("not baseline")
    } else if (marker === 0xdd) {
      throw new Unsupported("restart markers")
    } else if (marker === 0xc4) {
      let at = body
      while (at < i + 2 + length) {
        const klass = jpeg[at]! >> 4
        const id = jpeg[at]! & 15
        const counts = jpeg.subarray(at + 1, at + 17)
        const total = counts.reduce((a, b) => a + b, 0)
        const table = huffman(counts, jpeg.subarray(at + 17, at + 17 + total))
        ;(klass === 0 ? dc : ac).set(id, table)
        at += 17 + total
      }
    } else if (marker === 0xda) {
      const n = jpeg[body]!
      scan = []
      for (let c = 0; c < n; c++) {
        const id = jpeg[body + 1 + c * 2]!
        const tables = jpeg[body + 2 + c * 2]!
        const component = components.find((x) => x.id === id)
        if (component === undefined) throw new Unsupported("unknown component")
        scan.push({ component, dc: tables >> 4, ac: tables & 15 })
      }
      i += 2 + length
      break
    }
    i += 2 + length
  }
  if (sofAt < 0 || scan.length !== components.length) throw new Unsupported("not one interleaved scan")
  const hMax = Math.max(...components.map((c) => c.h))
  const vMax = Math.max(...components.map((c) => c.v))
  const tileHeight = height / count
  if (!Number.isInteger(tileHeight) || tileHeight % (8 * vMax) !== 0) throw new Unsupported("tiles off the MCU grid")
  const header = jpeg.subarray(0, i)

  // The entropy-coded data, unstuffed, up to EOI, then the padding `word` relies on.
  const data = new Uint8Array(jpeg.length - i + 8)
  let n = 0
  for (let j = i; j < jpeg.length; j++) {
    const b = jpeg[j]!
    if (b === 0xff) {
      const next = jpeg[j + 1]!
      if (next === 0x00) {
        data[n++] = 0xff
        j++
        continue
      }
      if (next === 0xd9) break
      throw new Unsupported("a marker inside the scan")
    }
    data[n++] = b
  }
  data.fill(0xff, n)
  const table = (tables: Map<number, Huffman>, id: number): Huffman => {
    const found = tables.get(id)
    if (found === undefined) throw new Unsupported("missing Huffman table")
    return found
  }
  const dcTables = scan.map((s) => table(dc, s.dc))
  const acTables = scan.map((s) => table(ac, s.ac))

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
      const s = category(patch.value)
      if (patch.table.length[s] === 0) throw new Unsupported("a DC category missing from the table")
      writer.write(patch.table.code[s]!, patch.table.length[s]!)
      if (s > 0) writer.write(patch.value >= 0 ? patch.value : patch.value + (1 << s) - 1, s)
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
