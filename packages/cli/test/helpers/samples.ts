/**
 * Real photos with faces, from the `@vladmandic/face-api` devDependency (its `demo/sample*.jpg`), so tests use
 * genuine media without shipping copies of it.
 */
import { createRequire } from "node:module"
import { dirname, join } from "node:path"

const root = dirname(createRequire(import.meta.url).resolve("@vladmandic/face-api/package.json"))

/** The path of `demo/sample<n>.jpg` (n = 1..6). */
export const samplePhoto = (n: number): string => join(root, "demo", `sample${n}.jpg`)
