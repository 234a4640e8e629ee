/**
 * People from tracks. The tracker follows a face while it stays in shot; a cut, a long occlusion or a change of scale
 * it cannot follow ends the track, and the person comes back as a new one. Here tracks are grouped into people by
 * face appearance: agglomerative clustering of the tracks' embeddings with average linkage, merging the closest pair
 * of groups while their distance is under a threshold (measured, see README: "People across cuts"). Two tracks seen
 * in the same frame are two people, so groups that share a frame are never merged. Pure.
 */
import { distance } from "./FaceEmbedding.js"

/**
 * The largest average embedding distance at which two groups of tracks are one person: on the development photos no
 * pair of different people came closer (the closest was 0.453), while 87.5 % of one face's pairs under resizing,
 * JPEG loss, darkening, rotation and mirroring did (README, "People across cuts").
 *
 * @since 0.1.0
 */
export const defaultThreshold = 0.45

/**
 * What clustering needs of a track: the sampled frames it was seen in (ascending) and its embedding.
 *
 * @since 0.1.0
 */
export interface Fragment {
  readonly frames: ReadonlyArray<number>
  /** Absent for a fragment that cannot join any other (see `joinable`): it stays a person of its own. */
  readonly embedding: ArrayLike<number> | undefined
}

/** Whether two ascending frame lists share a frame. */
const overlap = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean => {
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) return true
    if (a[i]! < b[j]!) i++
    else j++
  }
  return false
}

/**
 * Which fragments could join another at all: those with some other fragment they were never seen together with. The
 * others need no embedding (a single shot where everyone stays in view costs nothing).
 *
 * @since 0.1.0
 */
export const joinable = (frames: ReadonlyArray<ReadonlyArray<number>>): Array<boolean> =>
  frames.map((a, i) => frames.some((b, j) => i !== j && !overlap(a, b)))

/**
 * Groups fragments into people: each group lists fragment indices (ascending); groups are ordered by their first
 * fragment.
 *
 * @since 0.1.0
 */
export const group = (
  fragments: ReadonlyArray<Fragment>,
  threshold: number = defaultThreshold
): Array<Array<number>> => {
  const n = fragments.length
  // Group-to-group average distances and cannot-links, updated as groups merge (Lance-Williams for average
  // linkage), so each merge costs one pass over the groups: O(n^3) in all, not O(n^4).
  const d = fragments.map((a) =>
    fragments.map((b) =>
      a.embedding === undefined || b.embedding === undefined
        ? Number.POSITIVE_INFINITY
        : distance(a.embedding, b.embedding)
    )
  )
  // Cannot-link: fragments seen together.
  const together = fragments.map((a, i) => fragments.map((b, j) => i !== j && overlap(a.frames, b.frames)))
  const members: Array<Array<number> | undefined> = Array.from({ length: n }, (_, i) => [i])
  for (;;) {
    let best: { readonly a: number; readonly b: number; readonly d: number } | undefined
    for (let a = 0; a < n; a++) {
      if (members[a] === undefined) continue
      for (let b = a + 1; b < n; b++) {
        if (members[b] === undefined || together[a]![b]) continue
        const l = d[a]![b]!
        if (l < threshold && (best === undefined || l < best.d)) best = { a, b, d: l }
      }
    }
    if (best === undefined) break
    // b joins a.
    const { a, b } = best
    const na = members[a]!.length
    const nb = members[b]!.length
    for (let k = 0; k < n; k++) {
      if (members[k] === undefined || k === a || k === b) continue
      const merged = (na * d[a]![k]! + nb * d[b]![k]!) / (na + nb)
      d[a]![k] = merged
      d[k]![a] = merged
      const apart = together[a]![k]! || together[b]![k]!
      together[a]![k] = apart
      together[k]![a] = apart
    }
    members[a] = [...members[a]!, ...members[b]!].sort((x, y) => x - y)
    members[b] = undefined
  }
  return members.filter((m): m is Array<number> => m !== undefined).sort((x, y) => x[0]! - y[0]!)
}

/**
 * Merges `[start, end]` spans that overlap or touch into ascending, disjoint segments.
 *
 * @since 0.1.0
 */
export const segments = (
  spans: ReadonlyArray<readonly [number, number]>
): Array<readonly [startMs: number, endMs: number]> => {
  const out: Array<[number, number]> = []
  for (const [start, end] of [...spans].sort((a, b) => a[0] - b[0])) {
    const last = out[out.length - 1]
    if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end)
    else out.push([start, end])
  }
  return out
}
