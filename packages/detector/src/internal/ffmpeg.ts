/**
 * Running ffmpeg on a local file: which binary, the arguments that confine it to that file, the process bound to a
 * scope (killed when the scope closes), and the probe of a file's video stream.
 */
import { accessSync, constants } from "node:fs"
import { createRequire } from "node:module"
import { delimiter, join } from "node:path"
import type { Readable } from "node:stream"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { CorruptMedia, VideoDecodeFailed } from "../DetectorError.js"
import { startProcess } from "./spawner.js"

/**
 * What `ffmpeg -i` says about a file.
 *
 * @since 0.1.0
 */
export interface Probe {
  readonly durationMs: number | undefined
  readonly width: number
  readonly height: number
  /** Display rotation in degrees (0, 90, 180, 270). */
  readonly rotation: number
  readonly codec: string
}

/**
 * Parses the stream summary ffmpeg prints to stderr; undefined when there is no video stream.
 *
 * @since 0.1.0
 */
export const parseProbe = (stderr: string): Probe | undefined => {
  const video = /Stream #\d+:\d+[^\n]*?: Video: ([^\s,]+)[^\n]*?, (\d{1,5})x(\d{1,5})/.exec(stderr)
  if (video === null) return undefined
  const duration = /Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(stderr)
  const rotation = /rotation of (-?[\d.]+) degrees/.exec(stderr) ?? /rotate\s*:\s*(-?\d+)/.exec(stderr)
  const degrees = rotation === null ? 0 : (((Math.round(Number(rotation[1]) / 90) * 90) % 360) + 360) % 360
  return {
    codec: video[1]!,
    width: Number(video[2]),
    height: Number(video[3]),
    rotation: degrees,
    durationMs:
      duration === null
        ? undefined
        : Math.round((Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3])) * 1000)
  }
}

/** ffmpeg's demuxer for each container we allow. Forcing it stops ffmpeg from probing into other formats. */
export const demuxers: Record<"mp4" | "mov" | "webm" | "mkv", string> = {
  mp4: "mov",
  mov: "mov",
  webm: "matroska",
  mkv: "matroska"
}

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The ffmpeg to run: the configured one (`FACEDET_FFMPEG_PATH`), else `ffmpeg` on PATH (the system's, kept up to
 * date by its package manager). The static binary of `@ffmpeg-installer/ffmpeg` is a 2018 build that would decode
 * untrusted video, so it is used only when asked for with `FACEDET_FFMPEG_FALLBACK=npm` (and installed).
 *
 * @since 0.1.0
 */
export const locateFfmpeg = (
  configured?: string,
  env: Readonly<Record<string, string | undefined>> = process.env
): string | undefined => {
  if (configured !== undefined) return configured
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir !== "" && isExecutable(join(dir, "ffmpeg"))) return join(dir, "ffmpeg")
  }
  if (env.FACEDET_FFMPEG_FALLBACK !== "npm") return undefined
  try {
    const installer = createRequire(import.meta.url)("@ffmpeg-installer/ffmpeg") as { path?: string }
    if (installer.path !== undefined && isExecutable(installer.path)) return installer.path
  } catch {
    // Not installed, or no binary for this platform.
  }
  return undefined
}

/** Arguments that make ffmpeg read only `path`, with the demuxer forced. */
export const inputArgs = (demuxer: string, path: string) => [
  "-hide_banner",
  "-nostdin",
  "-protocol_whitelist",
  "file",
  "-f",
  demuxer,
  "-i",
  `file:${path}`
]

export const tail = (text: string, lines = 12) => text.trim().split("\n").slice(-lines).join("\n")

export interface Run {
  readonly stdout: Stream.Stream<Uint8Array, VideoDecodeFailed>
  /** The same output as a Node stream, for readers that parse it as it arrives. */
  readonly readable: Readable
  readonly exit: Effect.Effect<{ readonly code: number | null; readonly stderr: string }>
}

/** Starts ffmpeg in the current scope (through the spawn helper, see `spawner.ts`); closing the scope kills it. */
export const ffmpeg = (
  binary: string,
  args: ReadonlyArray<string>
): Effect.Effect<Run, VideoDecodeFailed, Scope.Scope> =>
  Effect.gen(function* () {
    const child = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => startProcess(binary, args),
        catch: (cause) =>
          new VideoDecodeFailed({ detail: `cannot start ffmpeg (${binary}): ${String(cause)}`, stderr: "" })
      }),
      (child) => Effect.sync(child.kill)
    )
    const exited = child.exited.then(({ code, error }) => ({
      code,
      stderr: error === undefined ? child.stderr() : `${child.stderr()}\n${error}`
    }))
    const stdout = Stream.fromAsyncIterable(
      child.stdout as AsyncIterable<Buffer>,
      (cause) =>
        new VideoDecodeFailed({ detail: `reading ffmpeg output: ${String(cause)}`, stderr: tail(child.stderr()) })
    ).pipe(Stream.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.length)))
    return {
      stdout,
      readable: child.stdout,
      exit: Effect.promise(() => exited)
    }
  })

/** Runs ffmpeg to completion and returns its stderr (for `-i` probes, which exit non-zero by design). */
export const probeFile = (binary: string, demuxer: string, path: string, format: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const run = yield* ffmpeg(binary, inputArgs(demuxer, path))
      yield* Stream.runDrain(run.stdout)
      const { code, stderr } = yield* run.exit.pipe(
        Effect.timeoutFail({
          duration: "30 seconds",
          onTimeout: () => new VideoDecodeFailed({ detail: "ffmpeg probe timed out", stderr: "" })
        })
      )
      if (code === -1) return yield* new VideoDecodeFailed({ detail: "cannot run ffmpeg", stderr: tail(stderr) })
      const probe = parseProbe(stderr)
      if (probe === undefined) {
        return yield* new CorruptMedia({ format, detail: tail(stderr, 1) || "no video stream" })
      }
      return probe
    })
  )
