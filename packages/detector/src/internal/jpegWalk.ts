/**
 * The walk over a baseline JPEG's Huffman codes for `jpegRegions` and `jpegTiles`, in WebAssembly (`jpegWalk.wat`).
 * On the bench's 3000x2000 group photo (1.4 MB) the same walk in JavaScript took 15-19 ms and its unstuffing 3-5 ms
 * (most of it page faults on a fresh 1.4 MB array), together as long as libjpeg-turbo's whole decode, so cutting
 * parts was no cheaper than decoding everything; here the walk takes about 7 ms and the unstuffing, in place, about 1.
 * Cutting a strip of face crops into one JPEG per crop took 0.21 ms a crop with its own JavaScript walk, 0.13 here.
 */
import { fastBits, type Huffman } from "./jpegCoding.js"
import { base64 } from "./jpegWalkWasm.js"
import * as WasmKernel from "./wasmKernel.js"

/** Per recorded block: its DC value, and where its AC bits start and end in the unstuffed data. */
export interface Blocks {
  readonly dc: Int32Array
  readonly from: Uint32Array
  readonly to: Uint32Array
}

interface Kernel {
  readonly memory: WasmKernel.Memory
  readonly walk: (...args: Array<number>) => number
  readonly unstuff: (...args: Array<number>) => number
}
/** A walk that needs more than 16 MB (the file's data, its tables and the records) gets an instance of its own. */
const kernelFor = WasmKernel.kernels<Kernel>(base64, 16 << 20)

/**
 * Writes a table's two lookups into `memory` (16-bit entries at `fast` and `full`, byte addresses), entries
 * `(length << 8) | symbol`: the table's own lookup of the next `fastBits` bits (which `jpegWalk.wat` reads as the
 * window's top 10 bits), then one of the next 16 bits (0 where no code starts). Straight into the module's memory:
 * 130 kB of fresh arrays per table and walk kept the collector busy.
 */
const writeLookup = (h: Huffman, memory: Uint16Array, fast: number, full: number): void => {
  memory.set(h.fast, fast >> 1)
  memory.fill(0, full >> 1, (full >> 1) + (1 << 16))
  for (let symbol = 0; symbol < 256; symbol++) {
    const l = h.length[symbol]!
    if (l === 0) continue
    const code = h.code[symbol]!
    memory.fill((l << 8) | symbol, (full >> 1) + (code << (16 - l)), (full >> 1) + ((code + 1) << (16 - l)))
  }
}

const align = (n: number) => (n + 7) & ~7

/** `walk`'s `components` for an MCU of `blocks[c]` blocks of each component c, in scan order. */
export const blockComponents = (blocks: ReadonlyArray<number>): Array<number> =>
  blocks.flatMap((n, c) => Array<number>(n).fill(c))

/**
 * Walks MCUs 0..`last` of the entropy-coded data starting at `jpeg[scanAt]` (restart markers dropped when
 * `restartInterval` > 0), recording the blocks of the MCUs with a slot (`slots[mcu] >= 0`, `count` of them).
 * `components[i]`: the component of an MCU's block i; `dcTables[c]`, `acTables[c]`: component c's tables. Returns
 * the blocks, the data unstuffed up to where the walk ended (`end`, in bits; eight 0xFF bytes after it), or
 * `undefined` on a marker inside the data, bits that are no code, or data that ends before MCU `last`. The blocks
 * and the data are views of the module's memory, valid until the next walk: copies of the 1.4 MB of a large photo's
 * data cost more in page faults than the walk itself.
 */
export const walk = (
  jpeg: Uint8Array,
  scanAt: number,
  components: ReadonlyArray<number>,
  dcTables: ReadonlyArray<Huffman>,
  acTables: ReadonlyArray<Huffman>,
  restartInterval: number,
  slots: Int32Array,
  count: number,
  last: number
): { blocks: Blocks; data: Uint8Array; end: number } | undefined => {
  const distinct = [...new Set([...dcTables, ...acTables])]
  const perMcu = components.length
  const records = count * perMcu * 4
  const raw = jpeg.length - scanAt
  // Layout: predictions, table addresses, block components, the 10-bit lookups together (they stay in cache), the
  // 16-bit lookups, slots, the three outputs, the data (unstuffed in place).
  const pred = 0
  const tabs = 16
  const blockComp = tabs + 16 * dcTables.length
  const fasts = align(blockComp + perMcu)
  const fulls = fasts + distinct.length * (2 << fastBits)
  const slotsAt = fulls + distinct.length * (2 << 16)
  const outDc = align(slotsAt + slots.length * 4)
  const outFrom = align(outDc + records)
  const outTo = align(outFrom + records)
  const dataAt = align(outTo + records)
  const k = kernelFor(dataAt + raw + 16)
  const memory = new Uint8Array(k.memory.buffer)
  const words = new Int32Array(k.memory.buffer)
  const halves = new Uint16Array(k.memory.buffer)
  for (const [i, h] of distinct.entries()) writeLookup(h, halves, fasts + i * (2 << fastBits), fulls + i * (2 << 16))
  for (let c = 0; c < dcTables.length; c++) {
    const dc = distinct.indexOf(dcTables[c]!)
    const ac = distinct.indexOf(acTables[c]!)
    words.set(
      [fasts + dc * (2 << fastBits), fulls + dc * (2 << 16), fasts + ac * (2 << fastBits), fulls + ac * (2 << 16)],
      (tabs >> 2) + c * 4
    )
  }
  memory.set(components, blockComp)
  words.set(slots, slotsAt >> 2)
  memory.set(jpeg.subarray(scanAt), dataAt)
  memory.fill(0, dataAt + raw, dataAt + raw + 16)
  words.fill(0, pred >> 2, (pred >> 2) + 4)
  const length = k.unstuff(dataAt, dataAt + raw, restartInterval > 0 ? 1 : 0)
  if (length < 0) return undefined
  const end = k.walk(
    dataAt,
    blockComp,
    perMcu,
    tabs,
    restartInterval,
    slotsAt,
    last,
    pred,
    dataAt + length + 8,
    outDc,
    outFrom,
    outTo
  )
  if (end < 0 || end > length * 8) return undefined
  const n = count * perMcu
  return {
    blocks: {
      dc: new Int32Array(k.memory.buffer, outDc, n),
      from: new Uint32Array(k.memory.buffer, outFrom, n),
      to: new Uint32Array(k.memory.buffer, outTo, n)
    },
    data: memory.subarray(dataAt, dataAt + Math.ceil(end / 8) + 8),
    end
  }
}
