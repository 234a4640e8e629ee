/**
 * The console's only way to the server: the public API, exactly as any client calls it (`x-api-key`, the upload
 * call, the two creates, the long-polled result). Every answer is checked with `@facedet/core`'s schemas.
 */
import * as DetectTask from "@facedet/core/DetectTask"
import * as Endpoints from "@facedet/core/Endpoints"
import type * as MediaFormat from "@facedet/core/MediaFormat"
import * as Envelope from "@facedet/core/Envelope"
import * as Upload from "@facedet/core/Upload"
import type { z } from "zod"

/** A refused call: the envelope's code and message (0: the server could not be reached or answered nonsense). */
export interface Failure {
  readonly code: number
  readonly message: string
  readonly retryAfterSeconds?: number | undefined
}

export type Outcome<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly failure: Failure }

export type Kind = MediaFormat.MediaKind

const call = async <S extends z.ZodType>(
  path: string,
  init: RequestInit & { readonly key: string },
  schema: S,
  signal?: AbortSignal
): Promise<Outcome<z.infer<S>>> => {
  let res: Response
  try {
    res = await fetch(path, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), [Endpoints.headers.apiKey]: init.key },
      ...(signal ? { signal } : {})
    })
  } catch (e) {
    if (signal?.aborted) throw e
    return { ok: false, failure: { code: 0, message: "the server could not be reached" } }
  }
  const retryAfter = Number(res.headers.get(Endpoints.headers.retryAfter))
  let body: unknown
  try {
    body = await res.json()
  } catch {
    return { ok: false, failure: { code: res.status, message: `the server answered HTTP ${res.status} without JSON` } }
  }
  const envelope = Envelope.RawEnvelope.safeParse(body)
  if (!envelope.success) return { ok: false, failure: { code: res.status, message: "the answer is not an envelope" } }
  if (envelope.data.code !== 200) {
    return {
      ok: false,
      failure: {
        code: envelope.data.code,
        message: envelope.data.message,
        retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined
      }
    }
  }
  const data = schema.safeParse(envelope.data.data)
  if (!data.success) {
    return {
      ok: false,
      failure: { code: 0, message: `unexpected answer: ${data.error.issues[0]?.message ?? "invalid"}` }
    }
  }
  return { ok: true, value: data.data }
}

/** Sends a file with the upload call; its URL is then detected like any URL. */
export const upload = (file: File, key: string) =>
  call(
    Endpoints.paths.upload,
    {
      method: "POST",
      key,
      body: file,
      headers: { "content-type": file.type !== "" ? file.type : "application/octet-stream" }
    },
    Upload.UploadData
  )

export const create = (kind: Kind, url: string, key: string) =>
  call(
    kind === "image" ? Endpoints.paths.createImage : Endpoints.paths.createVideo,
    {
      method: "POST",
      key,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(kind === "image" ? { image_url: url } : { video_url: url })
    },
    DetectTask.CreateData
  )

/** The task's state; waits up to `waitSeconds` for it to end (the server's long-poll). */
export const result = (id: string, key: string, waitSeconds: number, signal?: AbortSignal) =>
  call(
    `${Endpoints.paths.result}?detect_task_id=${encodeURIComponent(id)}&wait=${waitSeconds}`,
    { method: "GET", key },
    DetectTask.ResultData,
    signal
  )

/** What a user should do about a refused call, in words. */
export const advice = (failure: Failure): string => {
  switch (failure.code) {
    case 0:
      return "Check that the server is running and reachable, then try again."
    case 401:
      return "The API key was refused. Paste a key from FACEDET_API_KEYS, or the key the server printed at its first start."
    case 429:
      return `Too many requests for this key. Wait ${failure.retryAfterSeconds ?? "a few"} seconds and try again.`
    case 455:
      return `The server is shutting down or in maintenance. Try again in ${failure.retryAfterSeconds ?? "a few"} seconds.`
    case 422:
      return "The server refused the input: see the message above."
    default:
      return failure.code >= 500 ? "The server failed; try again shortly, and check its log." : ""
  }
}

/** A video or an animated image: detected as a video (people tracked across frames). */
export const kindOf = (format: string | undefined, mime: string): Kind =>
  mime.startsWith("video/") || (format !== undefined && ["mp4", "mov", "webm", "mkv"].includes(format))
    ? "video"
    : "image"

/** A pasted URL's kind, from its extension (images by default). */
export const kindOfUrl = (url: string): Kind => (/\.(mp4|mov|webm|mkv|m4v)(\?|#|$)/i.test(url) ? "video" : "image")
