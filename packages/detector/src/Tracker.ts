/**
 * Turns per-frame detections of a video into tracks: one face followed while it stays in shot. Frames are sampled
 * sparsely (a few per second), so faces move further between samples than SORT-style trackers expect: association is
 * greedy on IoU against a prediction that carries on both the motion and the change of scale of the last two samples
 * (a zoom grows the box and moves it away from the zoom's centre), with a centre-distance fallback measured in face
 * widths for fast motion, and a track survives a few missed samples. A scene cut ends every track; `Identity` joins
 * tracks of the same person again by their faces. Pure: no pixels, no time.
 */
import type { Box } from "./Detection.js"
import { iou } from "./Nms.js"

/**
 * Tracking parameters.
 *
 * @since 0.1.0
 */
export interface TrackerOptions {
  /** Smallest IoU between prediction and detection that links them. */
  readonly iouThreshold: number
  /** Fallback link: centre distance at most this share of the box width, sizes within `sizeRatio` of each other. */
  readonly centreGate: number
  readonly sizeRatio: number
  /** A track ends after this long without a matching detection. */
  readonly maxMissedMs: number
  /** Tracks seen fewer times are dropped as noise, unless the clip has fewer sampled frames than this. */
  readonly minHits: number
}

/**
 * Defaults for sampling at 2-4 frames per second (see README: "Video").
 *
 * @since 0.1.0
 */
export const defaults: TrackerOptions = {
  iouThreshold: 0.2,
  centreGate: 0.6,
  sizeRatio: 1.6,
  maxMissedMs: 2000,
  minHits: 2
}

/**
 * One detection in one sampled frame.
 *
 * @since 0.1.0
 */
export interface Observation<A> {
  readonly frame: number
  readonly timeMs: number
  readonly box: Box
  readonly score: number
  /** Whatever the caller needs back (landmarks, the candidate). */
  readonly data: A
}

/**
 * A person: how often and when they were seen, and the observation that represents them best.
 *
 * @since 0.1.0
 */
export interface Track<A> {
  readonly hits: number
  /** The sampled frames it was seen in, ascending. */
  readonly frames: ReadonlyArray<number>
  readonly first: Observation<A>
  readonly best: Observation<A>
  readonly firstSeenMs: number
  readonly lastSeenMs: number
}

/**
 * A track while it is followed. Only four observations are kept (the first, the last two for the motion model and
 * the best so far), so the data attached to observations (crop pixels) stays bounded on long videos.
 *
 * @since 0.1.0
 */
export interface Live<A> {
  readonly hits: number
  readonly frames: ReadonlyArray<number>
  readonly first: Observation<A>
  readonly previous: Observation<A> | undefined
  readonly last: Observation<A>
  readonly best: Observation<A>
}

/**
 * Tracker state: tracks still open, tracks ended, frames seen.
 *
 * @since 0.1.0
 */
export interface State<A> {
  readonly open: ReadonlyArray<Live<A>>
  readonly closed: ReadonlyArray<Live<A>>
  readonly frames: number
}

/**
 * A tracker that has seen no frame yet.
 *
 * @since 0.1.0
 */
export const empty = <A>(): State<A> => ({ open: [], closed: [], frames: 0 })

/**
 * Representative quality of an observation: score x size, so a sharp large view beats a distant one.
 *
 * @since 0.1.0
 */
export const quality = (o: Observation<unknown>): number => o.score * Math.sqrt(o.box[2] * o.box[3])

const centre = (b: Box) => [b[0] + b[2] / 2, b[1] + b[3] / 2] as const

/**
 * The most a box's size is predicted to change per sampled interval (a fast zoom), either way, and in all (a track
 * that missed a few samples is not extrapolated far).
 */
const maxGrowth = 1.5
const maxTotalGrowth = maxGrowth ** 2

/**
 * Where a track's face should be at `timeMs`, and how large, from its last two observations: constant velocity for
 * the centre, constant rate for the size.
 *
 * @since 0.1.0
 */
export const predict = <A>(track: Pick<Live<A>, "last" | "previous">, timeMs: number): Box => {
  const last = track.last
  const before = track.previous
  if (before === undefined || last.timeMs === before.timeMs) return last.box
  const k = (timeMs - last.timeMs) / (last.timeMs - before.timeMs)
  const [lx, ly] = centre(last.box)
  const [bx, by] = centre(before.box)
  const rate = Math.min(maxGrowth, Math.max(1 / maxGrowth, last.box[2] / Math.max(1e-6, before.box[2])))
  const growth = Math.min(maxTotalGrowth, Math.max(1 / maxTotalGrowth, rate ** k))
  const w = last.box[2] * growth
  const h = last.box[3] * growth
  return [lx + (lx - bx) * k - w / 2, ly + (ly - by) * k - h / 2, w, h]
}

/**
 * How well a detection continues a track (0 = not at all); IoU links always outrank distance links.
 *
 * @since 0.1.0
 */
export const affinity = (predicted: Box, detected: Box, options: TrackerOptions = defaults): number => {
  const overlap = iou(predicted, detected)
  if (overlap >= options.iouThreshold) return 1 + overlap
  const [px, py] = centre(predicted)
  const [dx, dy] = centre(detected)
  const width = Math.max(predicted[2], detected[2])
  const distance = Math.hypot(px - dx, py - dy) / width
  const ratio = Math.max(predicted[2], detected[2]) / Math.max(1e-6, Math.min(predicted[2], detected[2]))
  return distance <= options.centreGate && ratio <= options.sizeRatio ? 1 - distance / options.centreGate : 0
}

/**
 * Adds one sampled frame's detections. `cut` says the frame starts a new scene: every open track ends first.
 *
 * @since 0.1.0
 */
export const step = <A>(
  state: State<A>,
  frame: { readonly index: number; readonly timeMs: number; readonly cut: boolean },
  detections: ReadonlyArray<Omit<Observation<A>, "frame" | "timeMs">>,
  options: TrackerOptions = defaults
): State<A> => {
  const closed = [...state.closed]
  let open = [...state.open]
  if (frame.cut) {
    closed.push(...open)
    open = []
  }
  const pairs: Array<{ readonly t: number; readonly d: number; readonly a: number }> = []
  open.forEach((track, t) => {
    const predicted = predict(track, frame.timeMs)
    detections.forEach((det, d) => {
      const a = affinity(predicted, det.box, options)
      if (a > 0) pairs.push({ t, d, a })
    })
  })
  pairs.sort((x, y) => y.a - x.a)
  const usedTracks = new Set<number>()
  const usedDetections = new Set<number>()
  const next: Array<Live<A>> = []
  for (const { t, d } of pairs) {
    if (usedTracks.has(t) || usedDetections.has(d)) continue
    usedTracks.add(t)
    usedDetections.add(d)
    const track = open[t]!
    const seen: Observation<A> = { ...detections[d]!, frame: frame.index, timeMs: frame.timeMs }
    next.push({
      hits: track.hits + 1,
      frames: [...track.frames, frame.index],
      first: track.first,
      previous: track.last,
      last: seen,
      best: quality(seen) > quality(track.best) ? seen : track.best
    })
  }
  open.forEach((track, t) => {
    if (usedTracks.has(t)) return
    if (frame.timeMs - track.last.timeMs > options.maxMissedMs) closed.push(track)
    else next.push(track)
  })
  detections.forEach((det, d) => {
    if (usedDetections.has(d)) return
    const seen: Observation<A> = { ...det, frame: frame.index, timeMs: frame.timeMs }
    next.push({ hits: 1, frames: [frame.index], first: seen, previous: undefined, last: seen, best: seen })
  })
  return { open: next, closed, frames: state.frames + 1 }
}

/**
 * Ends every track and returns them, ordered by first appearance, then left to right.
 *
 * @since 0.1.0
 */
export const finish = <A>(state: State<A>, options: TrackerOptions = defaults): Array<Track<A>> => {
  const minHits = state.frames < options.minHits + 1 ? 1 : options.minHits
  return [...state.closed, ...state.open]
    .filter((t) => t.hits >= minHits)
    .map((t) => ({
      hits: t.hits,
      frames: t.frames,
      first: t.first,
      best: t.best,
      firstSeenMs: t.first.timeMs,
      lastSeenMs: t.last.timeMs
    }))
    .sort((a, b) => a.firstSeenMs - b.firstSeenMs || a.first.box[0] - b.first.box[0] || a.first.box[1] - b.first.box[1])
}
