/**
 * `GET /faces/<token>.jpg`: a face crop, open like crun.ai's links (a 190-bit random token, valid while its
 * detect_id lives). An image's crops are written just after its task completes (or, with lazy crops, on the first
 * fetch of one of its links): a link fetched before then waits for (or makes) its crop.
 */
import * as FaceDetError from "@facedet/core/FaceDetError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Deps } from "../../Api.js"
import type { Response } from "../httpEdge.js"
import * as Crops from "../crops.js"
import { errorResponse, storeFailure } from "./answers.js"

const faceGone = (route: string) =>
  errorResponse(new FaceDetError.NotFound({ message: "this face link has expired or does not exist" }), route)

/** The face-link route over the server's dependencies. */
export const make = (deps: Deps) => {
  const { store } = deps
  return (token: string, route: string) =>
    Effect.gen(function* () {
      const found = yield* store.getMedia(token)
      if (Option.isNone(found) || found.value.kind !== "crop" || found.value.taskId === undefined)
        return faceGone(route)
      const file = found.value
      let body = yield* deps.blobs.body(file.path)
      if (Option.isNone(body)) {
        // An image's crops are written just after its task completes: wait for (or make) this one.
        const task = yield* store.get(file.taskId!)
        const faces = Option.isSome(task) ? (task.value.faces ?? []) : []
        const stored = faces.find((f) => f.token === token)
        if (stored === undefined) return faceGone(route)
        // Its task's other crops come along (one decode for all): lazy crops are all made on the first fetch.
        const siblings = faces.map((f) => ({
          taskId: file.taskId!,
          box: f.box,
          path: Crops.cropPath(file.taskId!, f.id)
        }))
        const written = yield* deps.crops.ensure({ taskId: file.taskId!, box: stored.box, path: file.path }, siblings)
        if (written) body = yield* deps.blobs.body(file.path)
        if (Option.isNone(body)) return faceGone(route)
      }
      const maxAge = Math.max(0, Math.floor((file.expiresAt - deps.now()) / 1000))
      const response: Response = {
        status: 200,
        headers: {
          "content-type": "image/jpeg",
          // Cached no longer than the link lives.
          "cache-control": `private, max-age=${maxAge}`,
          "x-content-type-options": "nosniff"
        },
        body: body.value,
        route
      }
      return response
    }).pipe(
      Effect.catchTag("BlobError", storeFailure(route)),
      Effect.catchTag("StoreError", storeFailure(route)),
      Effect.merge
    )
}
