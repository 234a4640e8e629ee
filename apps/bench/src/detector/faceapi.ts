/**
 * Benchmark child: the peer, @vladmandic/face-api (SSD MobileNet v1, its default detector, minConfidence 0.5) on a
 * TensorFlow.js backend given as argument ("wasm": the SIMD WebAssembly build shipped in the npm package; "cpu": plain
 * JavaScript). tfjs-node cannot be installed here (its install script downloads libtensorflow). Decodes with sharp on
 * one thread, like facedet. Prints one JSON object on stdout.
 */
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import sharp from "sharp"
import { median } from "../median.js"
import * as Manifest from "./manifest.js"

sharp.concurrency(1)
sharp.cache(false)

const require = createRequire(import.meta.url)
const tf = require("@tensorflow/tfjs") as typeof import("@tensorflow/tfjs")
const wasm = require("@tensorflow/tfjs-backend-wasm") as typeof import("@tensorflow/tfjs-backend-wasm")
// face-api's build for Node without tfjs-node: it uses the @tensorflow/tfjs instance above.
const faceapi = require("@vladmandic/face-api/dist/face-api.node-wasm.js") as typeof import("@vladmandic/face-api")

const [dir, backend, mode] = process.argv.slice(2) as [string, "wasm" | "cpu", "full" | "calibrate"]
const { manifest, bytesOf } = Manifest.read(dir)

const main = async () => {
  if (backend === "wasm") {
    wasm.setWasmPaths(`${join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist")}/`)
    wasm.setThreadsCount(1)
  }
  await tf.setBackend(backend)
  await tf.ready()
  const simd = backend === "wasm" ? await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT") : false
  const threads = backend === "wasm" ? await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT") : false
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(
    join(dirname(require.resolve("@vladmandic/face-api/package.json")), "model")
  )
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 })
  const detect = async (bytes: Uint8Array) => {
    const { data, info } = await sharp(bytes).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true })
    const tensor = tf.tensor3d(data, [info.height, info.width, 3], "int32")
    try {
      const found = await faceapi.detectAllFaces(tensor as never, options)
      return found.map((d) => ({ box: [d.box.x, d.box.y, d.box.width, d.box.height] as const, score: d.score }))
    } finally {
      tensor.dispose()
    }
  }
  const time = async (bytes: Uint8Array, runs: number, warmUp = 2) => {
    for (let i = 0; i < warmUp; i++) await detect(bytes)
    const walls: Array<number> = []
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now()
      await detect(bytes)
      walls.push(performance.now() - t0)
    }
    return median(walls)
  }
  if (mode === "calibrate") {
    // The plain JavaScript backend takes seconds per image: one run tells.
    const smallMs =
      backend === "cpu" ? await time(bytesOf(manifest.speed[0]!), 1, 0) : await time(bytesOf(manifest.speed[0]!), 3, 1)
    return { backend, simd, threads, smallMs }
  }
  const accuracy: Record<string, unknown> = {}
  for (const image of manifest.images) accuracy[image.name] = await detect(bytesOf(image.name))
  const speed: Record<string, { wallMs: number }> = {}
  // face-api takes seconds on the group photos: fewer runs there.
  for (const [i, name] of manifest.speed.entries()) {
    speed[name] = { wallMs: await time(bytesOf(name), i === 0 ? manifest.runs : Math.min(manifest.runs, 7)) }
  }
  return {
    backend,
    simd,
    threads,
    versions: { faceapi: faceapi.version, tfjs: tf.version.tfjs },
    accuracy,
    speed,
    maxRssMb: process.resourceUsage().maxRSS / 1024
  }
}

Manifest.report(main)
