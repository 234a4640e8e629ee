/**
 * The open operational routes: `/healthz` (the process answers), `/readyz` (the store answers and the server is
 * not draining, with the queue's depth), `/metrics` (Prometheus text) and `/openapi.json`. They carry no keys and
 * expose no user data.
 */
import * as FaceDetError from "@facedet/core/FaceDetError"
import * as OpenApi from "@facedet/core/OpenApi"
import * as Effect from "effect/Effect"
import type { Deps } from "../../Api.js"
import type { Response } from "../httpEdge.js"
import { drainRetryAfterSeconds, errorResponse, jsonHeaders, ok, storeFailure } from "./answers.js"

/** The probe routes over the server's dependencies: the answer for `path`, or undefined when it is not one. */
export const make = (deps: Deps): ((path: string) => Effect.Effect<Response> | undefined) => {
  // Probes and scrapers poll these; the counts they show need not be fresher than a second.
  let depthCache:
    | { readonly at: number; readonly depth: { readonly queued: number; readonly running: number } }
    | undefined
  const depth = Effect.suspend(() => {
    const now = deps.now()
    if (depthCache !== undefined && now - depthCache.at < 1000) return Effect.succeed(depthCache.depth)
    return Effect.tap(deps.store.depth, (d) => Effect.sync(() => (depthCache = { at: now, depth: d })))
  })
  // Built once, on the first request (the origin is known once the listener has its port).
  let openApiText: string | undefined
  const openApi = Effect.map(
    deps.publicUrl,
    (url) =>
      (openApiText ??= JSON.stringify(
        OpenApi.document({ title: "facedet server (crun.ai-compatible face detection)", servers: [url] })
      ))
  )

  return (path) => {
    switch (path) {
      case "/healthz":
        return Effect.succeed(ok({ status: "ok" }, path))
      case "/readyz":
        return Effect.flatMap(deps.draining, (draining) =>
          draining
            ? Effect.succeed(
                errorResponse(
                  new FaceDetError.ServiceUnavailable({
                    message: "draining for shutdown",
                    retryAfterMs: drainRetryAfterSeconds * 1000
                  }),
                  path
                )
              )
            : Effect.map(depth, (d) => ok({ status: "ready", ...d }, path)).pipe(
                Effect.catchTag("StoreError", storeFailure(path))
              )
        )
      case "/metrics":
        return Effect.map(depth, (d) => ({
          status: 200,
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
          body: deps.metrics.render(d),
          route: path
        })).pipe(Effect.catchTag("StoreError", storeFailure(path)))
      case "/openapi.json":
        return Effect.map(openApi, (body) => ({ status: 200, headers: jsonHeaders, body, route: path }))
      default:
        return undefined
    }
  }
}
