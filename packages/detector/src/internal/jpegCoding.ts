/**
 * What the JPEG modules (`jpegTiles`, `jpegRegions`) share to read and write baseline JPEGs' entropy-coded data
 * without decoding a pixel: the header, Huffman tables and a bit writer (both walk the data with `jpegWalk`).
 */

/** A JPEG these modules cannot cut; their callers fall back (one encode per crop, a whole decode). */
export class Unsupported extends Error {}

export interface Huffman {
  /** As the DHT segment lists them: how many codes of each length 1-16. */
  readonly counts: Uint8Array
  /** As the DHT segment lists them: the symbols in code order. */
  readonly symbols: Uint8Array
  /** Encoding: code and length per symbol (length 0: not in the table). */
  readonly code: Int32Array
  readonly length: Uint8Array
  /** The next `fastBits` bits -> (length << 8 | symbol) of the code they start with, 0 when it is longer. */
  readonly fast: Uint16Array
}

/** Codes up to this long (nearly all of them) decode with one table lookup (`jpegWalk.wat` has it as 10 too). */
export const fastBits = 10

export const huffman = (counts: Uint8Array, symbols: Uint8Array): Huffman => {
  const code = new Int32Array(256)
  const length = new Uint8Array(256)
  const fast = new Uint16Array(1 << fastBits)
  let next = 0
  let k = 0
  for (let l = 1; l <= 16; l++) {
    for (let i = 0; i < counts[l - 1]!; i++, k++, next++) {
      const symbol = symbols[k]!
      code[symbol] = next
      length[symbol] = l
      if (l <= fastBits) {
        const shift = fastBits - l
        for (let j = next << shift, end = (next + 1) << shift; j < end; j++) fast[j] = (l << 8) | symbol
      }
    }
    // More codes of this length than there are bit patterns: no decoder can read the table.
    if (next > 1 << l) throw new Unsupported("an oversubscribed Huffman table")
    next <<= 1
  }
  return { counts, symbols, code, length, fast }
}

/**
 * 32 bits of entropy-coded data from bit `at` on, most significant first. `bytes` has its stuffed zero bytes removed
 * and at least four 0xFF bytes after the data (so a read near the end needs no bounds check; JPEG pads with 1-bits
 * too); callers use at most the top 24 bits, which are always valid.
 */
export const word = (bytes: Uint8Array, at: number): number => {
  const b = at >>> 3
  return ((bytes[b]! << 24) | (bytes[b + 1]! << 16) | (bytes[b + 2]! << 8) | bytes[b + 3]!) << (at & 7)
}

/** Writes bits into a growing buffer, stuffing a zero byte after every 0xFF. */
export class BitWriter {
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

export interface Component {
  readonly id: number
  readonly h: number
  readonly v: number
}

/** The category (bit length) of a DC difference and its extra bits, as JPEG codes them. */
const category = (v: number): number => (v === 0 ? 0 : 32 - Math.clz32(Math.abs(v)))

/** Writes a DC difference as JPEG codes it: its category's code in `table`, then its extra bits. */
export const writeDc = (writer: BitWriter, table: Huffman, difference: number): void => {
  const s = category(difference)
  if (!(table.length[s]! > 0)) throw new Unsupported("a DC category missing from the table")
  writer.write(table.code[s]!, table.length[s]!)
  if (s > 0) writer.write(difference >= 0 ? difference : difference + (1 << s) - 1, s)
}

/** The standard DC table of the JPEG specification (K.3, luminance): every category 0-11 has a code. */
export const standardDc: Huffman = huffman(
  new Uint8Array([0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]),
  new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
)

/** A baseline JPEG's header, read up to its scan. */
export interface Header {
  readonly width: number
  readonly height: number
  /** In the frame header's order. */
  readonly components: ReadonlyArray<Component>
  /** Where the frame header's marker (SOF0 or SOF1) is. */
  readonly sofAt: number
  /** MCUs between restart markers; 0: none. */
  readonly restartInterval: number
  readonly dc: ReadonlyMap<number, Huffman>
  readonly ac: ReadonlyMap<number, Huffman>
  /** The scan's components in coding order, with their tables' ids. */
  readonly scan: ReadonlyArray<{ readonly component: Component; readonly dc: number; readonly ac: number }>
  /** The segments before the scan's data, `[marker, start, end)` (SOI excluded). */
  readonly segments: ReadonlyArray<readonly [number, number, number]>
  /** Where the entropy-coded data starts. */
  readonly dataAt: number
}

/**
 * Reads `jpeg`'s header up to its first scan. Throws `Unsupported` for anything but a baseline JPEG of 8-bit samples
 * with Huffman coding whose first scan holds every component (progressive, lossless, arithmetic-coded and 12-bit
 * JPEGs, one scan per component).
 */
export const header = (jpeg: Uint8Array): Header => {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Unsupported("not a JPEG")
  const dc = new Map<number, Huffman>()
  const ac = new Map<number, Huffman>()
  const segments: Array<readonly [number, number, number]> = []
  let components: Array<Component> = []
  let width = 0
  let height = 0
  let sofAt = -1
  let restartInterval = 0
  let scan: Array<{ component: Component; dc: number; ac: number }> = []
  let i = 2
  for (;;) {
    if (i + 4 > jpeg.length || jpeg[i] !== 0xff) throw new Unsupported("bad marker")
    const marker = jpeg[i + 1]!
    const length = (jpeg[i + 2]! << 8) | jpeg[i + 3]!
    const body = i + 4
    const end = i + 2 + length
    if (length < 2 || end > jpeg.length) throw new Unsupported("truncated header")
    segments.push([marker, i, end])
    if (marker === 0xc0 || marker === 0xc1) {
      if (jpeg[body] !== 8) throw new Unsupported("not 8-bit")
      sofAt = i
      height = (jpeg[body + 1]! << 8) | jpeg[body + 2]!
      width = (jpeg[body + 3]! << 8) | jpeg[body + 4]!
      components = []
      for (let c = 0, n = jpeg[body + 5]!; c < n; c++) {
        const at = body + 6 + c * 3
        components.push({ id: jpeg[at]!, h: jpeg[at + 1]! >> 4, v: jpeg[at + 1]! & 15 })
      }
      if (components.some((c) => c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4)) throw new Unsupported("bad sampling")
    } else if (marker >= 0xc2 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      throw new Unsupported("not baseline")
    } else if (marker === 0xdd) {
      restartInterval = (jpeg[body]! << 8) | jpeg[body + 1]!
    } else if (marker === 0xc4) {
      let at = body
      while (at < end) {
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
      i = end
      break
    }
    i = end
  }
  if (sofAt < 0 || scan.length !== components.length) throw new Unsupported("not one interleaved scan")
  if (width === 0 || height === 0) throw new Unsupported("no size in the frame header")
  return { width, height, components, sofAt, restartInterval, dc, ac, scan, segments, dataAt: i }
}

/** The table of `id`, or `Unsupported`. */
export const table = (tables: ReadonlyMap<number, Huffman>, id: number): Huffman => {
  const found = tables.get(id)
  if (found === undefined) throw new Unsupported("missing Huffman table")
  return found
}
