/**
 * The data directory main.ts prepares for the benchmark children: `manifest.json` (images, the speed set, the clip,
 * the people clips, runs) and the files it names; and how a child reports its result.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"

export interface Manifest {
  readonly images: ReadonlyArray<{ readonly name: string; readonly file: string }>
  readonly speed: ReadonlyArray<string>
  readonly runs: number
}

/** The manifest in `dir`, and the bytes of one of its images by name. */
export const read = (dir: string): { readonly manifest: Manifest; readonly bytesOf: (name: string) => Uint8Array } => {
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Manifest
  const bytesOf = (name: string) =>
    new Uint8Array(readFileSync(join(dir, manifest.images.find((i) => i.name === name)!.file)))
  return { manifest, bytesOf }
}

/** Runs a benchmark child's measurement: its result as one line of JSON on stdout, or the error and exit status 1. */
export const report = (measure: () => Promise<unknown>): void => {
  measure().then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error) => {
      console.error(error)
      process.exit(1)
    }
  )
}
