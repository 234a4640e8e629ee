import { spawnSync } from "node:child_process"
import { existsSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Media from "./fixtures/media.js"

/**
 * A fresh process (the built package, as users load it) detects faces in a photo with HOME and TMPDIR in a temporary
 * directory, so whatever onnxruntime writes there is seen; it returns whether onnxruntime's telemetry folder appeared.
 * `telemetry`: the value of ORT_DISABLE_TELEMETRY it starts with (undefined: unset, the detector's default). `flags`:
 * Node's flags; the script runs from a file, or with `--input-type=module -e` when `flags` name an input type.
 */
const detectInFreshProcess = (
  telemetry: string | undefined,
  flags: ReadonlyArray<string> = ["--input-type=module"]
) => {
  const home = Media.tempDir()
  const photo = join(home, "photo.jpg")
  writeFileSync(photo, Media.photo(1))
  const index = new URL("../dist/index.js", import.meta.url).href
  const script = `
    import { readFileSync } from "node:fs"
    import * as Effect from "effect/Effect"
    import { FaceDetector } from ${JSON.stringify(index)}
    const program = Effect.flatMap(FaceDetector.FaceDetector, (d) => d.detectImage(readFileSync(${JSON.stringify(photo)})))
    const result = await Effect.runPromise(program.pipe(Effect.provide(FaceDetector.layer({ sessions: 1 })), Effect.scoped))
    console.log(result.faces.length)
  `
  const file = join(new URL("..", import.meta.url).pathname, `.fresh-process-${process.pid}.mjs`)
  const env: Record<string, string | undefined> = { ...process.env, HOME: home, TMPDIR: home }
  delete env.XDG_CACHE_HOME
  delete env.ORT_DISABLE_TELEMETRY
  // onnxruntime records nothing where these say it runs in CI (as here under .ci/run), which would hide the control.
  for (const name of ["CI", "GITHUB_ACTIONS", "TF_BUILD"]) delete env[name]
  if (telemetry !== undefined) env.ORT_DISABLE_TELEMETRY = telemetry
  const fromFile = !flags.some((f) => f.startsWith("--input-type"))
  // Inside the package, so that the script resolves effect as the package does.
  if (fromFile) writeFileSync(file, script)
  try {
    const child = spawnSync(process.execPath, [...flags, ...(fromFile ? [file] : ["-e", script])], {
      env,
      cwd: new URL("..", import.meta.url).pathname,
      encoding: "utf8",
      timeout: 60_000
    })
    expect(child.status, child.stderr).toBe(0)
    expect(Number(child.stdout.trim())).toBeGreaterThan(0)
  } finally {
    if (fromFile) rmSync(file, { force: true })
  }
  return existsSync(join(home, ".cache", "Microsoft"))
}

describe("onnxruntime's telemetry", () => {
  it("is off unless the user turns it on (it writes ~/.cache/Microsoft/... when on)", () => {
    expect(detectInFreshProcess(undefined)).toBe(false)
    // The control: onnxruntime-node 1.30 does record usage events when allowed. If this fails, the onnxruntime
    // installed no longer does, and internal/onnxRuntime.ts can go.
    expect(detectInFreshProcess("0")).toBe(true)
  }, 120_000)
})

describe("the model workers under Node's flags", () => {
  it("start under the flags facedet's own commands use, which apply to the whole process", () => {
    // `facedet` and `facedet-server` start with these (their shebang lines); a worker given them explicitly refuses.
    expect(detectInFreshProcess(undefined, ["--max-semi-space-size=2", "--heap-growing-percent=100"])).toBe(false)
  }, 60_000)
})
