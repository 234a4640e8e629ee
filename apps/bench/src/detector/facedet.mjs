/**
 * Benchmark child: runs only @facedet/detector (one session, one thread; sharp on one thread) so its peak RSS is the
 * detector's. Plain JavaScript run by plain node, so no TypeScript loader sits in the measured process. Reads the
 * images and the clip prepared by main.ts from the directory given as argument, prints one JSON object on stdout.
 */
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { FaceDetector, ModelFile } from "@facedet/detector"
import * as Effect from "effect/Effect"
import sharp from "sharp"

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

sharp.concurrency(1)
sharp.cache(false)

const [dir, mode = "measure"] = process.argv.slice(2)
const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"))
const bytesOf = (name) => {
  const entry = manifest.images.find((i) => i.name === name)
  return new Uint8Array(readFileSync(join(dir, entry.file)))
}

/**
 * CPU so far of every process below this one, in ms (Linux /proc, clock ticks of 1/100 s): the children reaped
 * (cutime + cstime), and the live ones with what they reaped, which counts ffmpeg when the detector's spawn helper
 * (a live child) starts it, and the helper's own CPU.
 */
const childCpuMs = () => {
  const fields = (stat) => stat.split(") ")[1].split(" ")
  const own = fields(readFileSync("/proc/self/stat", "utf8"))
  let ticks = Number(own[13]) + Number(own[14])
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const f = fields(readFileSync(`/proc/${pid}/stat`, "utf8"))
      if (Number(f[1]) === process.pid) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])
    } catch {
      // gone meanwhile
    }
  }
  return ticks * 10
}
const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/**
 * The machine's speed at this moment: one bare 256x256 inference of the original BlazeFace file (onnxruntime-node,
 * one thread, float input), the unit the detector's costs are counted in. It stays the original model so that
 * figures from before and after the detector's own model changes are in the same unit. On a busy machine every
 * figure grows with it.
 */
const referenceInferenceMs = async () => {
  const require = createRequire(fileURLToPath(import.meta.resolve("@facedet/detector")))
  const ort = require("onnxruntime-node")
  const source = join(
    dirname(require.resolve(`${ModelFile.sourcePackage}/package.json`)),
    "ONNX",
    ModelFile.sourceFileName
  )
  const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(source)), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    logSeverityLevel: 3
  })
  const input = new Float32Array(256 * 256 * 3).map((_, i) => ((i * 7919) % 255) / 127.5 - 1)
  const feeds = { "input:0": new ort.Tensor("float32", input, [1, 256, 256, 3]) }
  for (let i = 0; i < 10; i++) await session.run(feeds)
  const times = []
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now()
    await session.run(feeds)
    times.push(performance.now() - t0)
  }
  await session.release()
  return median(times)
}

/** Interleaved pairs of runs of the 20 s clip with and without joining people. */
const joinPairs = 7

/** Peak memory only: every image once with crops, the clip once with crops. */
const memory = Effect.gen(function* () {
  const detector = yield* FaceDetector.FaceDetector
  for (const image of manifest.images) yield* detector.detectImage(bytesOf(image.name))
  if (manifest.clip !== undefined) yield* detector.detectVideo(join(dir, manifest.clip))
  return { maxRssMb: process.resourceUsage().maxRSS / 1024 }
})

const measure = Effect.gen(function* () {
  const detector = yield* FaceDetector.FaceDetector
  const referenceBefore = yield* Effect.promise(referenceInferenceMs)
  const accuracy = {}
  const withoutSecondLook = {}
  for (const image of manifest.images) {
    for (const [into, secondLook] of [
      [accuracy, true],
      [withoutSecondLook, false]
    ]) {
      const result = yield* detector.detectImage(bytesOf(image.name), { crops: false, secondLook })
      into[image.name] = result.faces.map((f) => ({ box: f.box, score: f.score }))
    }
  }
  const speed = {}
  const cpuOf = (bytes, crops, secondLook) =>
    Effect.gen(function* () {
      const c0 = cpuMs()
      const t0 = performance.now()
      const faces = (yield* detector.detectImage(bytes, { crops, secondLook })).faces.length
      return { cpu: cpuMs() - c0, wall: performance.now() - t0, faces }
    })
  /**
   * `name` with the second look and `name -2nd` without, timed in alternation (the order swapped every run): both
   * medians see the same drift of the host, which timing one after the other let into their ratio.
   */
  const time = (name, bytes, crops) =>
    Effect.gen(function* () {
      for (let i = 0; i < 3; i++) {
        yield* detector.detectImage(bytes, { crops, secondLook: true })
        yield* detector.detectImage(bytes, { crops, secondLook: false })
      }
      const runs = { true: [], false: [] }
      for (let i = 0; i < manifest.runs; i++) {
        for (const secondLook of i % 2 === 0 ? [true, false] : [false, true]) {
          runs[secondLook].push(yield* cpuOf(bytes, crops, secondLook))
        }
      }
      for (const [key, secondLook] of [
        [name, true],
        [`${name} -2nd`, false]
      ]) {
        const r = runs[secondLook]
        speed[key] = {
          wallMs: median(r.map((x) => x.wall)),
          cpuMs: median(r.map((x) => x.cpu)),
          faces: r[r.length - 1].faces
        }
      }
    })
  for (const name of manifest.speed) yield* time(name, bytesOf(name), false)
  yield* time(`${manifest.speed[0]} +crops`, bytesOf(manifest.speed[0]), true)
  yield* time(`${manifest.speed[1]} +crops`, bytesOf(manifest.speed[1]), true)
  for (const name of manifest.dev) yield* time(`${name} dev`, bytesOf(name), false)

  let video
  if (manifest.clip !== undefined) {
    const clip = join(dir, manifest.clip)
    yield* detector.detectVideo(clip, { crops: false })
    const runs = []
    for (let i = 0; i < 3; i++) {
      const c0 = cpuMs()
      const f0 = childCpuMs()
      const t0 = performance.now()
      const result = yield* detector.detectVideo(clip, { crops: false })
      const wallMs = performance.now() - t0
      const detectorCpu = cpuMs() - c0
      const ffmpegCpu = childCpuMs() - f0
      runs.push({
        frames: result.framesSampled,
        people: result.faces.length,
        wallMs,
        detectorCpuMs: detectorCpu,
        ffmpegCpuMs: ffmpegCpu,
        framesPerDetectorCpuSecond: (result.framesSampled * 1000) / detectorCpu,
        framesPerCpuSecond: (result.framesSampled * 1000) / (detectorCpu + ffmpegCpu),
        framesPerWallSecond: (result.framesSampled * 1000) / wallMs
      })
    }
    video = Object.fromEntries(Object.keys(runs[0]).map((k) => [k, median(runs.map((r) => r[k]))]))
    // The cost of joining tracks into people: the same clip with identify on (the default) and off, interleaved
    // (the order swapped every pair); seven pairs, as one pair varies by +-15 % on a 2-core host, and the medians of
    // either side can drift apart by more than that over a run. Without crops (the frames read at the search's size
    // only, the stricter measure) and with them (the detector's default).
    const joining = (crops) =>
      Effect.gen(function* () {
        const cpu = { true: [], false: [] }
        const wall = { true: [], false: [] }
        const pairRatios = []
        for (let i = 0; i < joinPairs; i++) {
          for (const identify of i % 2 === 0 ? [true, false] : [false, true]) {
            const c0 = cpuMs()
            const t0 = performance.now()
            yield* detector.detectVideo(clip, { crops, identify })
            cpu[identify].push(cpuMs() - c0)
            wall[identify].push(performance.now() - t0)
          }
          pairRatios.push(cpu.true[i] / cpu.false[i])
        }
        return {
          // Each pair's two runs are adjacent, so the host's drift over the fourteen runs cancels in their ratio.
          pairedCpuRatio: median(pairRatios),
          identifyCpuMs: median(cpu.true),
          tracksOnlyCpuMs: median(cpu.false),
          identifyWallMs: median(wall.true),
          tracksOnlyWallMs: median(wall.false)
        }
      })
    Object.assign(video, yield* joining(false))
    video.joiningWithCrops = yield* joining(true)
    const withCrops = yield* detector.detectVideo(clip)
    video.peopleWithCrops = withCrops.faces.filter((f) => f.crop !== undefined).length
  }
  let people
  if (manifest.peopleClips.length > 0) {
    people = {}
    const spans = (result) => result.faces.map((f) => ({ appearances: f.appearances }))
    for (const c of manifest.peopleClips) {
      const path = join(dir, c.file)
      people[c.name] = {
        joined: spans(yield* detector.detectVideo(path, { crops: false })),
        tracks: spans(yield* detector.detectVideo(path, { crops: false, identify: false }))
      }
    }
  }
  const referenceAfter = yield* Effect.promise(referenceInferenceMs)
  return {
    accuracy,
    withoutSecondLook,
    speed,
    video,
    people,
    referenceInferenceMs: (referenceBefore + referenceAfter) / 2,
    maxRssMb: process.resourceUsage().maxRSS / 1024
  }
})

Effect.runPromise(
  (mode === "memory" ? memory : measure).pipe(Effect.provide(FaceDetector.layer({ sessions: 1, threads: 1 })))
).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`)
  },
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
