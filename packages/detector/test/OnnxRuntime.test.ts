import { spawnSync } from "node:child_process"
import { existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Media from "./fixtures/media.js"

/**
 * A fresh process (the built package, as users load it) detects faces in a photo with HOME and TMPDIR in a temporary
 * directory, so whatever onnxruntime writes there is seen. `telemetry`: the value of ORT_DISABLE_TELEMETRY it starts
 * with (undefined: unset, the detector's default).
 */
const detectInFreshProcess = (telemetry: string | undefined) => {
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
  const env: Record<string, string | undefined> = { ...process.env, HOME: home, TMPDIR: home }
  delete env.XDG_CACHE_HOME
  delete env.ORT_DISABLE_TELEMETRY
  if (telemetry !== undefined) env.ORT_DISABLE_TELEMETRY = telemetry
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    env,
    cwd: new URL("..", import.meta.url).pathname,
    encoding: "utf8",
    timeout: 60_000
  })
  expect(child.status, child.stderr).toBe(0)
  expect(Number(child.stdout.trim())).toBeGreaterThan(0)
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
