/**
 * `POST /api/v1/client/upload`: a media file in the body, stored for `FACEDET_MEDIA_TTL_MS` under a random token
 * and answered with its URL (usable as `image_url` / `video_url`). Checked as it arrives: the key's upload quota,
 * its kind's size limit once the first bytes say what it is, and the disk's free space.
 */
import { statfsSync } from "node:fs"
import { join } from "node:path"
import * as FaceDetError from "@facedet/core/FaceDetError"
import * as TaskId from "@facedet/core/TaskId"
import * as Timestamp from "@facedet/core/Timestamp"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { Deps } from "../../Api.js"
import { isDiskFull } from "../../JobStore.js"
import { accepts, describe, imageFormats, sniff } from "../../MediaFetcher.js"
import * as Body from "../body.js"
import * as Log from "../log.js"
import type { Request, Response } from "../httpEdge.js"
import { drainingAnswer, errorResponse, invalid, json, ok, storeFailure } from "./answers.js"

/** 507: too little disk for uploads (the server keeps `FACEDET_MIN_FREE_DISK_BYTES` free). */
export const insufficientStorage = (route: string): Response =>
  json(
    507,
    {
      code: 507,
      message: "the server is short of disk space and takes no uploads for now; retry later or send a media URL",
      data: null
    },
    route,
    { connection: "close" }
  )

/** A server-side failure while storing an upload: a generic 500 for the client, the details for the log. */
const uploadFault = (route: string, cause: unknown) =>
  Effect.as(
    Log.failure(`${route}: storing an upload failed`, cause),
    isDiskFull(cause)
      ? insufficientStorage(route)
      : errorResponse(
          new FaceDetError.ServerError({ message: "internal error: the upload could not be stored; retry shortly" }),
          route,
          true
        )
  )

/** Free bytes on the disk of `dir` (undefined: unknown). */
const freeDiskBytes = (dir: string): number | undefined => {
  try {
    const fs = statfsSync(dir)
    return fs.bavail * fs.bsize
  } catch {
    return undefined
  }
}

/** The upload route over the server's dependencies. */
export const make = (deps: Deps) => {
  const { config, store } = deps
  return (request: Request, owner: string, route: string) =>
    Effect.gen(function* () {
      if (yield* deps.draining) return drainingAnswer(route, "the server is shutting down; retry shortly")
      const free = freeDiskBytes(config.dataDir)
      if (free !== undefined && free < config.minFreeDiskBytes) return insufficientStorage(route)
      const used = yield* store.uploadBytes(owner)
      const quotaLeft = config.keyMaxUploadBytes - used
      const declared = Number(request.headers["content-length"])
      if (quotaLeft <= 0 || (Number.isFinite(declared) && declared > quotaLeft)) {
        return errorResponse(
          new FaceDetError.RateLimited({
            message: `this API key's uploads hold ${used} bytes (limit ${config.keyMaxUploadBytes}) until they expire; detect or wait for them first`,
            retryAfterMs: 60_000
          }),
          route,
          true
        )
      }
      const kindLimit = Math.max(config.maxImageBytes, config.maxVideoBytes)
      const token = TaskId.makeToken((n) => crypto.getRandomValues(new Uint8Array(n)))
      const blobPath = join("uploads", token)
      // Written on local disk first (limits and format checks as it arrives), then taken into the file store.
      const path = deps.blobs.staging(blobPath)
      // Once the first bytes say what the file is, its kind's limit applies (an image stops at the image limit, not
      // the video one), and bytes that are no media at all stop at once instead of filling the disk.
      const limitFor = (head: Uint8Array): number | "refuse" => {
        const format = sniff(head)
        if (format === undefined) return "refuse"
        return Math.min(
          quotaLeft,
          imageFormats.has(format) && !accepts("video", format) ? config.maxImageBytes : kindLimit
        )
      }
      const stored = yield* Body.toFile(request.raw, path, Math.min(kindLimit, quotaLeft), { limitFor }).pipe(
        Effect.map((s) => ({ ok: true as const, stored: s })),
        Effect.catchAll((e) => Effect.succeed({ ok: false as const, error: e }))
      )
      if (!stored.ok) {
        const e = stored.error
        if (e._tag === "BodyWriteFailed") return yield* uploadFault(route, e.cause)
        const message =
          e._tag === "BodyTooLarge"
            ? `the upload is larger than ${e.limit} bytes`
            : e._tag === "BodyRefused"
              ? `the upload is not a supported image or video (it looks like ${describe(e.head)})`
              : e.message
        return errorResponse(invalid(message, "body"), route, true)
      }
      const format = sniff(stored.stored.head)
      const refuse = (message: string) =>
        Effect.sync(() => {
          Body.remove(path)
          return errorResponse(invalid(message, "body"), route)
        })
      if (stored.stored.size === 0) return yield* refuse("the upload is empty")
      if (format === undefined) {
        return yield* refuse(
          `the upload is not a supported image or video (it looks like ${describe(stored.stored.head)})`
        )
      }
      const adopted = yield* Effect.either(deps.blobs.adopt(blobPath, path))
      if (adopted._tag === "Left") {
        Body.remove(path)
        return adopted.left.unavailable === true
          ? yield* storeFailure(route)(adopted.left)
          : yield* uploadFault(route, adopted.left)
      }
      const now = yield* Clock.currentTimeMillis
      const expiresAt = now + config.mediaTtlMs
      yield* store
        .putMedia({
          token,
          kind: "upload",
          path: blobPath,
          contentType: imageFormats.has(format) ? `image/${format}` : `video/${format}`,
          size: stored.stored.size,
          expiresAt,
          owner
        })
        .pipe(Effect.tapError(() => Effect.ignore(deps.blobs.remove([blobPath]))))
      return ok(
        {
          url: `${yield* deps.publicUrl}/uploads/${token}`,
          format,
          size: stored.stored.size,
          expires_at: Timestamp.format(expiresAt)
        },
        route
      )
    }).pipe(Effect.catchTag("StoreError", storeFailure(route)), Effect.merge)
}
