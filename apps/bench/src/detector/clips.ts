/**
 * Clips for measuring people in video: made at run time from the group photos that ship in @vladmandic/face-api's
 * demo folder (six photos of 3-5 people), as shots of a virtual camera moving over a photo (pan, zoom), joined by
 * cuts. Every frame is rendered with sharp from a known window of a known photo and piped to ffmpeg, so the people
 * in each shot are known from the photo's annotated faces (`samples.json`, counted by eye) and the window.
 *
 * Scoring (`scorePeople`): ids per person (the ids the detector returned over the people the clip shows; 1.0 is one
 * id each) and merged-different mistakes: an id whose appearances span shots that have no person in common must be
 * two people or more.
 */
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import sharp from "sharp"
import type { Box } from "./dataset.js"

const demo = join(dirname(createRequire(import.meta.url).resolve("@vladmandic/face-api/package.json")), "demo")
const annotations = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "..", "data", "samples.json"), "utf8")
) as Record<string, { readonly width: number; readonly height: number; readonly faces: ReadonlyArray<Box> }>

/** A window `[x, y, width, height]` on a photo, in its pixels (16:9). */
export type Window = readonly [number, number, number, number]

/** One shot: a photo (sample 1-6), the camera's window at the start and at the end (moved linearly), its length. */
export interface Shot {
  readonly photo: number
  readonly seconds: number
  readonly from: Window
  readonly to: Window
}

export interface Clip {
  readonly name: string
  readonly shots: ReadonlyArray<Shot>
}

const width = 1280
const height = 720
const fps = 25

/** The widest 16:9 window of a photo, centred. */
const full = (photo: number): Window => {
  const a = annotations[`sample${photo}.jpg`]!
  const h = Math.round((a.width * 9) / 16)
  return [0, Math.round((a.height - h) / 2), a.width, h]
}
/** A 16:9 window `w` wide centred on (cx, cy). */
const around = (cx: number, cy: number, w: number): Window => [cx - w / 2, cy - (w * 9) / 32, w, (w * 9) / 16]

/** The development clips (README, "People in video"). */
export const clips: ReadonlyArray<Clip> = [
  // A slow zoom (2.4x over 8 s) into the middle two of four people; the outer two leave the frame.
  { name: "zoom", shots: [{ photo: 4, seconds: 8, from: full(4), to: around(905, 300, 800) }] },
  // A fast zoom (2.7x in 3 s) and pan from four people to the two on the right.
  { name: "zoom-fast", shots: [{ photo: 6, seconds: 3, from: full(6), to: around(1480, 520, 720) }] },
  // A push-in from five people to one face (3.4x in 4 s): the frame's colours change as much as at a cut.
  { name: "push-in", shots: [{ photo: 5, seconds: 4, from: full(5), to: around(857, 260, 560) }] },
  // Nine people from three photos in six shots: each photo whole, a push-in, a pan, and each photo again after a cut.
  {
    name: "cuts",
    shots: [
      { photo: 1, seconds: 2, from: full(1), to: full(1) },
      { photo: 2, seconds: 2, from: full(2), to: full(2) },
      { photo: 1, seconds: 2, from: around(720, 530, 1000), to: around(720, 530, 880) },
      { photo: 3, seconds: 2, from: full(3), to: full(3) },
      { photo: 2, seconds: 2.5, from: around(760, 420, 1150), to: around(1200, 420, 1150) },
      { photo: 1, seconds: 2, from: full(1), to: full(1) },
      { photo: 3, seconds: 1.5, from: around(1180, 470, 1300), to: around(1180, 470, 1100) }
    ]
  }
]

/** Where the window is at `t` seconds into a shot. */
const windowAt = (shot: Shot, t: number): Window => {
  const k = shot.seconds === 0 ? 0 : Math.min(1, t / shot.seconds)
  return shot.from.map((v, i) => v + (shot.to[i]! - v) * k) as unknown as Window
}

/** People (indices into the photo's faces) whose face lies wholly inside the window. */
const inside = (photo: number, w: Window): Array<number> =>
  annotations[`sample${photo}.jpg`]!.faces.flatMap((f, i) =>
    f[0] >= w[0] && f[1] >= w[1] && f[0] + f[2] <= w[0] + w[2] && f[1] + f[3] <= w[1] + w[3] ? [i] : []
  )

/** Renders a clip as H.264 MP4 (1280x720, 25 fps) at `path`. */
export const render = async (ffmpeg: string, clip: Clip, path: string): Promise<void> => {
  const encoder = spawn(
    ffmpeg,
    [
      ...["-y", "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24"],
      ...["-s", `${width}x${height}`, "-r", String(fps), "-i", "-"],
      ...["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", path]
    ],
    { stdio: ["pipe", "ignore", "inherit"] }
  )
  const done = new Promise<void>((resolve, reject) => {
    encoder.on("error", reject)
    encoder.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited with ${code}`))))
  })
  const decoded = new Map<number, { readonly data: Buffer; readonly width: number; readonly height: number }>()
  for (const shot of clip.shots) {
    if (!decoded.has(shot.photo)) {
      const { data, info } = await sharp(join(demo, `sample${shot.photo}.jpg`))
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true })
      decoded.set(shot.photo, { data, width: info.width, height: info.height })
    }
    const photo = decoded.get(shot.photo)!
    const frames = Math.round(shot.seconds * fps)
    for (let f = 0; f < frames; f++) {
      const [x, y, w, h] = windowAt(shot, f / fps)
      const left = Math.max(0, Math.round(x))
      const top = Math.max(0, Math.round(y))
      const frame = await sharp(photo.data, { raw: { width: photo.width, height: photo.height, channels: 3 } })
        .extract({
          left,
          top,
          width: Math.min(photo.width - left, Math.round(w)),
          height: Math.min(photo.height - top, Math.round(h))
        })
        .resize(width, height, { fit: "fill" })
        .raw()
        .toBuffer()
      if (!encoder.stdin.write(frame)) await new Promise((resolve) => encoder.stdin.once("drain", resolve))
    }
  }
  encoder.stdin.end()
  await done
}

/** The people a clip shows: `photo:face` keys, and for each shot those wholly in view at some point of it. */
export const people = (clip: Clip): { readonly all: Set<string>; readonly perShot: Array<Set<string>> } => {
  const perShot = clip.shots.map((shot) => {
    const seen = new Set<string>()
    for (let t = 0; t <= shot.seconds; t += 0.1)
      for (const i of inside(shot.photo, windowAt(shot, t))) seen.add(`${shot.photo}:${i}`)
    return seen
  })
  return { all: new Set(perShot.flatMap((s) => [...s])), perShot }
}

export interface PeopleScore {
  readonly people: number
  readonly ids: number
  readonly idsPerPerson: number
  readonly mergedDifferent: number
}

/**
 * Scores the detector's people for a clip from their appearances (`[startMs, endMs]` segments): ids per person, and
 * ids that span shots with no person in common.
 */
export const scorePeople = (
  clip: Clip,
  found: ReadonlyArray<{ readonly appearances: ReadonlyArray<readonly [number, number]> }>
): PeopleScore => {
  const { all, perShot } = people(clip)
  const starts = clip.shots.map((_, i) => clip.shots.slice(0, i).reduce((s, shot) => s + shot.seconds * 1000, 0))
  const shotAt = (ms: number) => {
    let k = 0
    while (k + 1 < starts.length && ms >= starts[k + 1]!) k++
    return k
  }
  let mergedDifferent = 0
  for (const person of found) {
    const shots = new Set(
      person.appearances.flatMap(([a, b]) => Array.from({ length: shotAt(b) - shotAt(a) + 1 }, (_, i) => shotAt(a) + i))
    )
    // Someone must be in every shot the id spans.
    const sets = [...shots].map((k) => perShot[k]!)
    if (![...sets[0]!].some((p) => sets.every((s) => s.has(p)))) mergedDifferent++
  }
  return { people: all.size, ids: found.length, idsPerPerson: found.length / all.size, mergedDifferent }
}
