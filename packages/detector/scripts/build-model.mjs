#!/usr/bin/env node
// Build step (after tsc): derives the model the detector runs from the original in the devDependency that carries
// it (checking the original's pinned SHA-256), checks that the result is byte for byte the file committed in assets/
// (and its pin in src/ModelFile.ts), and copies it with the original's licence and our NOTICE into dist/model/, so
// the published package needs nothing at run time.
import { createHash } from "node:crypto"
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { derive } from "./derive-model.mjs"
import { derive as deriveFaceCheck } from "./derive-face-check.mjs"
import { derive as deriveRecognition } from "./derive-recognition.mjs"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const { fileName, sha256, sourceFileName, sourceSha256, sourcePackage } = await import(
  join(root, "dist", "ModelFile.js")
)
const digest = (bytes) => createHash("sha256").update(bytes).digest("hex")
const stop = (message) => {
  console.error(`build-model: ${message}`)
  process.exit(1)
}

const source = dirname(createRequire(join(root, "package.json")).resolve(`${sourcePackage}/package.json`))
const original = new Uint8Array(readFileSync(join(source, "ONNX", sourceFileName)))
if (digest(original) !== sourceSha256)
  stop(`${sourceFileName} has sha256 ${digest(original)}, expected ${sourceSha256}`)
const derived = derive(original)
if (digest(derived) !== sha256) {
  stop(`derived model has sha256 ${digest(derived)}, src/ModelFile.ts pins ${sha256} (update the pin and assets/)`)
}
const committed = readFileSync(join(root, "assets", fileName))
if (!Buffer.from(derived).equals(committed)) stop(`assets/${fileName} differs from the derived model`)

const out = join(root, "dist", "model")
mkdirSync(out, { recursive: true })
writeFileSync(join(out, fileName), derived)
copyFileSync(join(source, "LICENSE"), join(out, "LICENSE"))
copyFileSync(join(root, "assets", "model-NOTICE"), join(out, "NOTICE"))
console.log(`build-model: ${fileName} (sha256 ${sha256.slice(0, 12)}…), LICENSE and NOTICE in dist/model/`)

// The face-recognition model: derived from face-api's pinned weights at every build (not committed: 6.5 MB).
const recognition = await import(join(root, "dist", "RecognitionModel.js"))
/** A dependency's folder: from its package.json, or up from its main entry when its exports map hides package.json. */
const packageDir = (name) => {
  const require = createRequire(join(root, "package.json"))
  try {
    return dirname(require.resolve(`${name}/package.json`))
  } catch {
    let dir = dirname(require.resolve(name))
    while (!existsSync(join(dir, "package.json"))) dir = dirname(dir)
    return dir
  }
}
const faceApi = packageDir(recognition.source.package)
const pinned = (file, expected) => {
  const bytes = new Uint8Array(readFileSync(file))
  if (digest(bytes) !== expected) stop(`${file} has sha256 ${digest(bytes)}, expected ${expected}`)
  return bytes
}
const json = (bytes) => JSON.parse(Buffer.from(bytes).toString("utf8"))

/** Writes a derived model after checking it against its pin in src/<pinModule>.ts, with its source's licence. */
const emit = (pins, pinModule, bytes, packageFolder, licenceName) => {
  if (digest(bytes) !== pins.sha256) {
    stop(`derived ${pins.fileName} has sha256 ${digest(bytes)}, src/${pinModule}.ts pins ${pins.sha256}`)
  }
  writeFileSync(join(out, pins.fileName), bytes)
  copyFileSync(join(packageFolder, "LICENSE"), join(out, licenceName))
  console.log(`build-model: ${pins.fileName} (sha256 ${pins.sha256.slice(0, 12)}…) and ${licenceName} in dist/model/`)
}

const manifest = json(pinned(join(faceApi, "model", recognition.source.manifest), recognition.source.manifestSha256))
const recognitionModel = deriveRecognition(
  manifest,
  pinned(join(faceApi, "model", recognition.source.weights), recognition.source.weightsSha256)
)
emit(recognition, "RecognitionModel", recognitionModel, faceApi, "LICENSE-face-api")
// Its 8-bit copy, quantised over the committed activation ranges (scripts/calibrate-recognition.mjs).
const { ranges } = JSON.parse(readFileSync(join(root, "assets", recognition.int8.ranges), "utf8"))
const recognitionInt8 = deriveRecognition(
  manifest,
  pinned(join(faceApi, "model", recognition.source.weights), recognition.source.weightsSha256),
  { kind: "int8", ranges }
)
emit(recognition.int8, "RecognitionModel", recognitionInt8, faceApi, "LICENSE-face-api")

// The face-check model: derived from human's pinned face mesh at every build (not committed).
const faceCheck = await import(join(root, "dist", "FaceCheckModel.js"))
const human = packageDir(faceCheck.source.package)
const faceCheckModel = deriveFaceCheck(
  json(pinned(join(human, "models", faceCheck.source.graph), faceCheck.source.graphSha256)),
  pinned(join(human, "models", faceCheck.source.weights), faceCheck.source.weightsSha256)
)
emit(faceCheck, "FaceCheckModel", faceCheckModel, human, "LICENSE-human")
