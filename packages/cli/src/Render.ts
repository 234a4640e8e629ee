/**
 * What the command prints: a detection result for people (one line per face: id, link, box and score when
 * present, the detect_id and how long it stays usable) or for programs (`--json`: the wire's `data` object as it
 * is), and errors with a hint saying what to do next.
 *
 * Pure functions from values to lines, so the output is the same on a terminal and in a pipe and easy to test.
 *
 * @since 0.1.0
 */
import type { DetectTask, Face } from "@facedet/core"
import * as FaceDetError from "@facedet/core/FaceDetError"
import * as Timestamp from "@facedet/core/Timestamp"
import type { CliError } from "./CliError.js"
import * as HumanDuration from "./HumanDuration.js"
import { describeDefect } from "./internal/defect.js"

/**
 * The `--json` rendering: the result `data` as the wire has it (facedet's extra face fields included), indented
 * two spaces, with short arrays of numbers (boxes, points) kept on one line so a face stays readable.
 *
 * @since 0.1.0
 * @category Rendering
 */
export const json = (data: unknown): string => pretty(data, "")

const isFlat = (value: ReadonlyArray<unknown>): boolean =>
  value.length <= 8 && value.every((v) => v === null || typeof v === "number" || typeof v === "boolean")

const pretty = (value: unknown, indent: string): string => {
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]"
    if (isFlat(value)) return `[${value.map((v) => JSON.stringify(v)).join(", ")}]`
    const inner = `${indent}  `
    return `[\n${value.map((v) => `${inner}${pretty(v, inner)}`).join(",\n")}\n${indent}]`
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined)
    if (entries.length === 0) return "{}"
    const inner = `${indent}  `
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${pretty(v, inner)}`).join(",\n")}\n${indent}}`
  }
  // Strings, numbers, booleans, null (and anything JSON would drop, as null).
  return JSON.stringify(value) ?? "null"
}

/**
 * What is known about when a detect_id stops working (core's `DetectId.expiresAt`), for the human rendering.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Validity {
  /** Epoch ms: the conservative expiry of the detect_id. */
  readonly expiresAt: number
}

/**
 * `[x, y, w, h]` as `x,y,w,h`.
 *
 * @since 0.1.0
 * @category Rendering
 */
export const box = (b: ReadonlyArray<number>): string => b.map((n) => String(round1(n))).join(",")

const round1 = (n: number): number => Math.round(n * 10) / 10

/**
 * One line for a face: `face 0  https://...  box 10,20,30,31  score 0.93` (video faces add when they were seen).
 *
 * @since 0.1.0
 * @category Rendering
 */
export const face = (f: Face.Face): string => {
  const parts = [`face ${f.id}`, f.link]
  if (f.box) parts.push(`box ${box(f.box)}`)
  if (f.score !== undefined) parts.push(`score ${f.score.toFixed(2)}`)
  if (f.first_seen_ms !== undefined && f.last_seen_ms !== undefined) {
    parts.push(`seen ${seconds(f.first_seen_ms)}-${seconds(f.last_seen_ms)}`)
  }
  return parts.join("  ")
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`

/**
 * The human rendering of a result in any state. A failed task renders as its error line (the caller decides where
 * it goes: it is a failure, so stderr). `validity` is what is known of the detect_id's expiry, or `"local"` for a
 * `--local` detection, whose detect_id no server knows.
 *
 * @since 0.1.0
 * @category Rendering
 */
export const result = (data: DetectTask.ResultData, validity?: Validity | "local"): ReadonlyArray<string> => {
  const head = `detect task ${data.detect_task_id}`
  if (data.status === "failed") {
    return [taskFailure(data)]
  }
  if (data.status !== "succeeded" || !data.result) return [`${head} ${data.status}`]
  const faces = data.result.faces
  const lines = [`${head} succeeded: ${plural(faces.length, "face")}`]
  if (validity === "local") {
    lines.push(`detect_id ${data.result.id}  (local detection: no server knows it)`)
  } else {
    const expiry =
      validity === undefined
        ? "valid for 1 h after detection"
        : `valid until ${Timestamp.format(validity.expiresAt)} UTC`
    lines.push(`detect_id ${data.result.id}  ${expiry}; a swap must use the same media URL`)
  }
  for (const f of faces) lines.push(face(f))
  return lines
}

/**
 * `detect task <id> failed: <code>: <message>`, the task's own code and message verbatim (any language).
 *
 * @since 0.1.0
 * @category Rendering
 */
export const taskFailure = (data: DetectTask.ResultData): string => {
  const error = data.error ?? data.result?.error
  return error
    ? `detect task ${data.detect_task_id} failed: ${error.code}: ${error.message}`
    : `detect task ${data.detect_task_id} failed (the server gave no reason)`
}

/**
 * The command that resumes waiting on a task.
 *
 * @since 0.1.0
 * @category Rendering
 */
export const resumeCommand = (detectTaskId: string): string => `facedet result ${detectTaskId} --wait`

/**
 * The line printed when waiting stops before the task finished (deadline, Ctrl-C).
 *
 * @since 0.1.0
 * @category Rendering
 */
export const resumeHint = (detectTaskId: string): string =>
  `detect task ${detectTaskId} continues on the server; resume with: ${resumeCommand(detectTaskId)}`

/**
 * A live status line: `detect task <id>: processing, 12s`.
 *
 * @since 0.1.0
 * @category Rendering
 */
export const status = (detectTaskId: string, taskStatus: string, elapsedMs: number): string =>
  `detect task ${detectTaskId}: ${taskStatus}, ${HumanDuration.format(elapsedMs)}`

/**
 * A failure this module renders: a server's or a wait's (`FaceDetError`), or the command's own.
 *
 * @since 0.1.0
 * @category Models
 */
export type Renderable = FaceDetError.FaceDetError | CliError

/**
 * Where the error happened, for hints.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ErrorContext {
  readonly baseUrl?: string | undefined
  /** Whether an API key was given (flag or environment). */
  readonly hasApiKey?: boolean | undefined
}

/**
 * Lines for stderr describing a failure and what to do about it. Every line but the first starts with `hint:`.
 *
 * @since 0.1.0
 * @category Rendering
 */
export const error = (e: Renderable, context: ErrorContext = {}): ReadonlyArray<string> => {
  const lines = [`error: ${e.message}`]
  const hint = (text: string) => lines.push(`hint: ${text}`)
  const server = context.baseUrl ?? "the server"
  switch (e._tag) {
    case "Unauthorized":
      hint(
        context.hasApiKey === false
          ? "no API key was given: pass --api-key or set FACEDET_API_KEY"
          : `${server} refused the API key: check --api-key / FACEDET_API_KEY`
      )
      break
    case "InsufficientCredits":
      hint("top up the account's credits, or detect on this machine with --local")
      break
    case "NotFound":
      hint(`check the task id and --base-url (${server}); task results expire`)
      break
    case "RateLimited":
    case "ServiceUnavailable":
    case "ServerError":
      hint(
        e.retryAfterMs === undefined
          ? `${server} is busy or unavailable; try again later`
          : `${server} asked to wait ${HumanDuration.format(e.retryAfterMs)} before trying again`
      )
      break
    case "TransportError":
      if (e.reason !== "Aborted") hint(`could not reach ${server}: check --base-url and the network`)
      break
    case "DecodeError":
      hint(`${server} did not answer like a crun.ai / facedet API: check --base-url`)
      if (e.body) hint(`it answered: ${e.body.slice(0, 200).replace(/\s+/g, " ")}`)
      break
    case "UnknownApiError":
      hint("this facedet version does not know that code: upgrade @facedet/cli")
      break
    case "WaitTimeout":
      lines[0] = `error: gave up waiting after ${HumanDuration.format(e.timeoutMs)}${
        e.lastStatus ? ` (last status: ${e.lastStatus})` : ""
      }`
      hint(resumeHint(e.detectTaskId ?? e.taskId))
      break
    case "UsageError":
      if (e.hint) hint(e.hint)
      break
    case "UploadUnsupported":
      hint("detect on this machine with --local, or start a server with `facedet serve` and pass its --base-url")
      break
    case "MissingApiKey":
      hint("pass --api-key or set FACEDET_API_KEY (`facedet serve` prints its key when it starts)")
      break
    case "TaskNotSucceeded":
      if (e.status !== "failed") {
        hint(`wait for it with --wait, or: ${resumeCommand(e.detectTaskId)}`)
      }
      break
    case "OptionalPackageMissing":
      hint(
        `install it beside the CLI: \`npm i -g ${e.packageName}\` for a global facedet, or \`npm i ${e.packageName}\` in your project`
      )
      break
    case "ServeFailed":
      if (e.configuration) hint("see `facedet serve --help` for the flags and environment variables")
      break
    case "MigrateFailed":
      if (e.reason === "configuration")
        hint("pass --database-url postgres://user:password@host:5432/db or set FACEDET_DATABASE_URL")
      if (e.reason === "unreachable") hint("check that PostgreSQL runs and accepts connections from this machine")
      break
    default:
      break
  }
  return lines
}

/**
 * Whether a value is a failure this module renders (a `FaceDetError` or one of the command's own).
 *
 * @since 0.1.0
 * @category Guards
 */
export const isRenderable = (u: unknown): u is Renderable =>
  FaceDetError.isFaceDetError(u) || (typeof u === "object" && u !== null && "_tag" in u && cliTags.has(String(u._tag)))

const cliTags = new Set([
  "UsageError",
  "FileError",
  "MediaError",
  "UploadUnsupported",
  "MissingApiKey",
  "TaskNotSucceeded",
  "CropDownloadFailed",
  "ServeFailed",
  "MigrateFailed",
  "LocalDetectorUnavailable",
  "OptionalPackageMissing"
])

/**
 * A one-line description of an unexpected failure (a defect: a bug to report).
 *
 * @since 0.1.0
 * @category Rendering
 */
export const defect: (u: unknown) => string = describeDefect
