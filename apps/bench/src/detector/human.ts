/**
 * Benchmark child: the second peer, @vladmandic/human (its face detector only: BlazeFace as human ships it for
 * TensorFlow.js, minConfidence 0.5 like face-api's, up to 100 faces, no mesh, no description) on the TensorFlow.js
 * SIMD WebAssembly backend shipped in the npm package (tfjs-node cannot be installed here). Decodes with sharp on one
 * thread, like facedet. Accuracy on every image and the small photo's time; prints one JSON object on stdout.
 */
import { readFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
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

interface HumanResult {
  readonly face: ReadonlyArray<{ readonly box: readonly [number, number, number, number]; readonly boxScore: number }>
}
interface HumanInstance {
  readonly version: string
  load: () => Promise<void>
  detect: (input: unknown) => Promise<HumanResult>
}
// human's build for Node without tfjs-node: it uses the @tensorflow/tfjs instance above. Its exports map lacks the
// "./" prefixes Node requires, so files are found from the main entry's folder (resolving it runs nothing).
const humanDist = dirname(require.resolve("@vladmandic/human"))
const { Human } = require(join(humanDist, "human.node-wasm.js")) as {
  Human: new (config: object) => HumanInstance
}

const [dir] = process.argv.slice(2) as [string]
const { manifest, bytesOf } = Manifest.read(dir)

const main = async () => {
  const wasmDir = `${join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist")}/`
  wasm.setWasmPaths(wasmDir)
  wasm.setThreadsCount(1)
  // TensorFlow.js loads models with fetch, which has no file: URLs in Node: the models folder is served on loopback.
  const models = join(humanDist, "..", "models")
  const server = createServer((req, res) => {
    const name = new URL(req.url ?? "/", "http://x").pathname.slice(1)
    if (!/^[\w.-]+$/.test(name)) return res.writeHead(404).end()
    try {
      res.writeHead(200).end(readFileSync(join(models, name)))
    } catch {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  const human = new Human({
    backend: "wasm",
    wasmPath: wasmDir,
    modelBasePath: `http://127.0.0.1:${port}/`,
    cacheSensitivity: 0,
    filter: { enabled: false },
    face: {
      enabled: true,
      detector: { rotation: false, maxDetected: 100, minConfidence: 0.5, skipFrames: 0, return: false },
      mesh: { enabled: false },
      iris: { enabled: false },
      description: { enabled: false },
      emotion: { enabled: false },
      antispoof: { enabled: false },
      liveness: { enabled: false }
    },
    body: { enabled: false },
    hand: { enabled: false },
    object: { enabled: false },
    gesture: { enabled: false },
    segmentation: { enabled: false }
  })
  await human.load()
  server.close()
  const detect = async (bytes: Uint8Array) => {
    const { data, info } = await sharp(bytes).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true })
    const tensor = tf.tensor4d(data, [1, info.height, info.width, 3], "int32")
    try {
      const result = await human.detect(tensor)
      return result.face.map((f) => ({ box: [...f.box] as const, score: f.boxScore }))
    } finally {
      tensor.dispose()
    }
  }
  const accuracy: Record<string, unknown> = {}
  for (const image of manifest.images) accuracy[image.name] = await detect(bytesOf(image.name))
  const small = bytesOf(manifest.speed[0]!)
  for (let i = 0; i < 2; i++) await detect(small)
  const walls: Array<number> = []
  for (let i = 0; i < manifest.runs; i++) {
    const t0 = performance.now()
    await detect(small)
    walls.push(performance.now() - t0)
  }
  return {
    versions: { human: human.version, tfjs: tf.version.tfjs },
    accuracy,
    smallMs: median(walls),
    maxRssMb: process.resourceUsage().maxRSS / 1024
  }
}

Manifest.report(main)
