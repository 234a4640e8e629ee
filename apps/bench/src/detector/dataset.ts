/**
 * The detector benchmark's data: faces-dev (4 annotated photos, 18 faces, copied into apps/bench/data) and
 * high-resolution group photos built from them at run time (a grid of the photos on a 3000x2000 canvas, ground truth
 * scaled and shifted), plus scoring (recall and precision at IoU >= 0.3).
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import sharp, { type OverlayOptions } from "sharp"

export type Box = readonly [number, number, number, number]

export interface Annotated {
  readonly name: string
  readonly bytes: Uint8Array
  readonly width: number
  readonly height: number
  readonly faces: ReadonlyArray<Box>
}

const dataDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "data", "faces-dev")

interface Annotation {
  readonly file: string
  readonly width: number
  readonly height: number
  readonly faces: ReadonlyArray<Box>
}

/** The four faces-dev photos with their annotations. */
export const facesDev = (): Array<Annotated> =>
  (JSON.parse(readFileSync(join(dataDir, "annotations.json"), "utf8")) as Array<Annotation>).map((a) => ({
    name: a.file,
    bytes: new Uint8Array(readFileSync(join(dataDir, a.file))),
    width: a.width,
    height: a.height,
    faces: a.faces
  }))

/**
 * A group photo: `cols` x `rows` cells of `cellW` x `cellH` on a grey canvas, each holding a faces-dev photo scaled
 * to fit (the four photos in turn), encoded as JPEG quality 90.
 */
export const groupPhoto = async (
  name: string,
  cols: number,
  rows: number,
  cellW: number,
  cellH: number
): Promise<Annotated> => {
  const dev = facesDev()
  const composites: Array<OverlayOptions> = []
  const faces: Array<Box> = []
  for (let i = 0; i < cols * rows; i++) {
    const a = dev[i % dev.length]!
    const s = Math.min(cellW / a.width, cellH / a.height)
    const w = Math.round(a.width * s)
    const h = Math.round(a.height * s)
    const left = (i % cols) * cellW + Math.floor((cellW - w) / 2)
    const top = Math.floor(i / cols) * cellH + Math.floor((cellH - h) / 2)
    composites.push({ input: await sharp(a.bytes).resize(w, h).toBuffer(), left, top })
    for (const f of a.faces) faces.push([left + f[0] * s, top + f[1] * s, f[2] * s, f[3] * s])
  }
  const width = cols * cellW
  const height = rows * cellH
  const jpeg = await sharp({ create: { width, height, channels: 3, background: "#777777" } })
    .composite(composites)
    .jpeg({ quality: 90 })
    .toBuffer()
  return { name, bytes: new Uint8Array(jpeg), width, height, faces }
}

export const iou = (a: Box, b: Box): number => {
  const x1 = Math.max(a[0], b[0])
  const y1 = Math.max(a[1], b[1])
  const x2 = Math.min(a[0] + a[2], b[0] + b[2])
  const y2 = Math.min(a[1] + a[3], b[1] + b[3])
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1)
  return inter / (a[2] * a[3] + b[2] * b[3] - inter)
}

export interface Score {
  readonly truePositives: number
  readonly detections: number
  readonly faces: number
}

/** Greedy one-to-one matching, best score first, at IoU >= 0.3. */
export const score = (
  detected: ReadonlyArray<{ readonly box: Box; readonly score: number }>,
  truth: ReadonlyArray<Box>
): Score => {
  const used = new Set<number>()
  let truePositives = 0
  for (const d of [...detected].sort((a, b) => b.score - a.score)) {
    let best = -1
    let bestIou = 0.3
    truth.forEach((t, i) => {
      const v = iou(d.box, t)
      if (!used.has(i) && v >= bestIou) {
        best = i
        bestIou = v
      }
    })
    if (best >= 0) {
      used.add(best)
      truePositives++
    }
  }
  return { truePositives, detections: detected.length, faces: truth.length }
}

export const add = (a: Score, b: Score): Score => ({
  truePositives: a.truePositives + b.truePositives,
  detections: a.detections + b.detections,
  faces: a.faces + b.faces
})

export const zero: Score = { truePositives: 0, detections: 0, faces: 0 }

export const recall = (s: Score) => s.truePositives / Math.max(1, s.faces)
export const precision = (s: Score) => (s.detections === 0 ? 1 : s.truePositives / s.detections)

/** The two group photos of the benchmark (see README). */
export const groupPhotos = async (): Promise<Array<Annotated>> => [
  // 4x4 photos, each enlarged 1.33x: faces 49-120 px, like the "3000x2000 group photo with 70-pixel faces"
  await groupPhoto("group-3000x2000", 4, 4, 750, 500),
  // 6x5 photos at their own size: faces 37-90 px, harder
  await groupPhoto("group-small-faces-3000x2000", 6, 5, 500, 400)
]

/** A photo of the false-face set: its faces, and regions where a detection counts neither way. */
export interface HardPhoto extends Annotated {
  readonly ignore: ReadonlyArray<Box>
}

const hardDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "data", "hard-photos")
const demoDir = join(dirname(createRequire(import.meta.url).resolve("@vladmandic/face-api/package.json")), "demo")

/**
 * The false-face set (data/hard-photos/README.md): 32 photos of things that are not faces (or not only), and the six
 * group photos of face-api's demo folder with their faces (data/samples.json).
 */
export const hardPhotos = (): Array<HardPhoto> => {
  const annotations = JSON.parse(readFileSync(join(hardDir, "annotations.json"), "utf8")) as Array<{
    readonly file: string
    readonly faces: ReadonlyArray<Box>
    readonly ignore?: ReadonlyArray<Box>
  }>
  const samples = JSON.parse(readFileSync(join(hardDir, "..", "samples.json"), "utf8")) as Record<
    string,
    { readonly width: number; readonly height: number; readonly faces: ReadonlyArray<Box> }
  >
  return [
    ...annotations.map((a) => ({ file: join(hardDir, a.file), name: a.file, faces: a.faces, ignore: a.ignore ?? [] })),
    ...Object.entries(samples).map(([file, a]) => ({
      file: join(demoDir, file),
      name: `face-api-${file}`,
      faces: a.faces,
      ignore: []
    }))
  ].map((p) => {
    const bytes = new Uint8Array(readFileSync(p.file))
    return { name: p.name, bytes, width: 0, height: 0, faces: p.faces, ignore: p.ignore }
  })
}

/** Detections that are no face: matching none (IoU >= 0.3) and not centred in an ignored region. */
export const falseFaces = (detected: ReadonlyArray<{ readonly box: Box }>, photo: HardPhoto): number =>
  detected.filter((d) => {
    if (photo.faces.some((f) => iou(d.box, f) >= 0.3)) return false
    const cx = d.box[0] + d.box[2] / 2
    const cy = d.box[1] + d.box[3] / 2
    return !photo.ignore.some((r) => cx >= r[0] && cy >= r[1] && cx < r[0] + r[2] && cy < r[1] + r[3])
  }).length
