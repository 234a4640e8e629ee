/**
 * The BlazeFace model's contract: its input tensor, its output heads, and how raw outputs decode into candidate
 * faces (box, score, six keypoints) in input pixels. Pure: no runtime, so it is tested without the model.
 */
import * as Anchors from "./Anchors.js"

/**
 * Input: NHWC uint8 `[1, height, width, 3]`, RGB. The model was trained at 256x256; the copy we ship (see
 * `ModelFile`) scales pixels to [-1, 1] itself and takes any height and width that are multiples of `inputStep`.
 *
 * @since 0.1.0
 */
export const inputSize = 256

/**
 * The model's input tensor.
 *
 * @since 0.1.0
 */
export const inputName = "input:0"

/**
 * Window sides must be multiples of the coarsest stride.
 *
 * @since 0.1.0
 */
export const inputStep = 32

/**
 * Score heads (512 anchors at stride 16, then 384 at stride 32) and the matching 16-value regressor heads.
 *
 * @since 0.1.0
 */
export const scoreOutputs = ["Identity:0", "Identity_1:0"] as const

/**
 * The model's box-regression outputs, one per anchor grid.
 *
 * @since 0.1.0
 */
export const boxOutputs = ["Identity_2:0", "Identity_3:0"] as const

/**
 * Values per anchor in the regressor: box centre offset, size, then six (x, y) keypoint offsets, in pixels.
 *
 * @since 0.1.0
 */
export const valuesPerAnchor = 16

/**
 * Keypoints per face: eyes, nose tip, mouth, ears.
 *
 * @since 0.1.0
 */
export const keypointCount = 6

/**
 * Anchor centres for this model at 256x256, in input pixels.
 *
 * @since 0.1.0
 */
export const anchors: Float32Array = Anchors.generate(Anchors.blazeFaceBack)

/**
 * Anchors of a 256x256 input.
 *
 * @since 0.1.0
 */
export const anchorCount = anchors.length / 2

const anchorCache = new Map<string, Float32Array>([[`${inputSize}x${inputSize}`, anchors]])

/**
 * Anchor centres for a `width` x `height` input (memoised: a search uses a handful of window sizes).
 *
 * @since 0.1.0
 */
export const anchorsFor = (width: number, height: number): Float32Array => {
  const key = `${width}x${height}`
  let found = anchorCache.get(key)
  if (found === undefined) {
    found = Anchors.generate(Anchors.resized(Anchors.blazeFaceBack, width, height))
    if (anchorCache.size > 64) anchorCache.clear()
    anchorCache.set(key, found)
  }
  return found
}

/**
 * The model's raw outputs for one input, heads concatenated in anchor order.
 *
 * @since 0.1.0
 */
export interface RawOutput {
  /** One logit per anchor. */
  readonly scores: Float32Array
  /** `valuesPerAnchor` numbers per anchor. */
  readonly boxes: Float32Array
}

/**
 * The anchors of one output that pass a score threshold: the inference worker sends only these (usually none or a
 * handful out of 896), with their logits and `valuesPerAnchor` regressor values each.
 *
 * @since 0.1.0
 */
export interface SparseOutput {
  readonly anchors: ArrayLike<number>
  readonly logits: ArrayLike<number>
  readonly values: ArrayLike<number>
}

/**
 * Keeps the anchors of `output` whose logit is at least `minLogit` (the worker does the same, inline).
 *
 * @since 0.1.0
 */
export const sparse = (output: RawOutput, minLogit: number): SparseOutput => {
  const anchors: Array<number> = []
  const logits: Array<number> = []
  const values: Array<number> = []
  for (let i = 0; i < output.scores.length; i++) {
    const raw = output.scores[i]!
    if (!(raw >= minLogit)) continue
    anchors.push(i)
    logits.push(raw)
    for (let k = 0; k < valuesPerAnchor; k++) values.push(output.boxes[i * valuesPerAnchor + k]!)
  }
  return { anchors, logits, values }
}

/**
 * A face candidate in the coordinates of the model input (or wherever it has been mapped to).
 *
 * @since 0.1.0
 */
export interface Candidate {
  readonly score: number
  /** `[x, y, width, height]`. */
  readonly box: readonly [number, number, number, number]
  /** Six `(x, y)` pairs, flattened, in the model's keypoint order. */
  readonly keypoints: ReadonlyArray<number>
}

/**
 * Logistic function, with the logit clipped as MediaPipe does (`score_clipping_thresh` 100).
 *
 * @since 0.1.0
 */
export const sigmoid = (logit: number): number => 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, logit))))

/**
 * The logit at which the score equals `p` (decoding compares logits, which skips most exponentials).
 *
 * @since 0.1.0
 */
export const logit = (p: number): number => Math.log(p / (1 - p))

/**
 * The logit threshold for a score threshold (clamped away from 0 and 1).
 *
 * @since 0.1.0
 */
export const minLogit = (minScore: number): number => logit(Math.min(Math.max(minScore, 1e-6), 1 - 1e-6))

/**
 * Every anchor whose score is at least `minScore`, decoded to input pixels. `input` is the size the model ran at
 * (default 256x256); a raw output must come from that size.
 *
 * @since 0.1.0
 */
export const decode = (
  output: RawOutput | SparseOutput,
  minScore: number,
  input: { readonly width: number; readonly height: number } = { width: inputSize, height: inputSize }
): Array<Candidate> => {
  const centres = anchorsFor(input.width, input.height)
  const kept = "scores" in output ? sparse(output, minLogit(minScore)) : output
  const threshold = minLogit(minScore)
  const found: Array<Candidate> = []
  for (let j = 0; j < kept.anchors.length; j++) {
    const raw = kept.logits[j]!
    if (!(raw >= threshold)) continue
    const i = kept.anchors[j]!
    const ax = centres[2 * i]!
    const ay = centres[2 * i + 1]!
    const o = j * valuesPerAnchor
    const b = kept.values
    const cx = ax + b[o]!
    const cy = ay + b[o + 1]!
    const w = b[o + 2]!
    const h = b[o + 3]!
    const keypoints: Array<number> = []
    for (let k = 0; k < keypointCount; k++) keypoints.push(ax + b[o + 4 + 2 * k]!, ay + b[o + 5 + 2 * k]!)
    found.push({ score: sigmoid(raw), box: [cx - w / 2, cy - h / 2, w, h], keypoints })
  }
  return found
}
