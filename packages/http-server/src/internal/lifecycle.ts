/**
 * Where a server process is in its life, shared by the routes, the workers and the drain: whether it drains (a
 * `Ref`: new tasks get 455 from then on), and the origin of its links (a `Deferred`, completed once the listener
 * knows its port, since `--port 0` picks one; routes that build links wait for it, which only requests arriving
 * in the instant between the bind and the completion ever do).
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"

export interface Service {
  readonly draining: Effect.Effect<boolean>
  /** Starts draining; true for the call that started it. */
  readonly beginDrain: Effect.Effect<boolean>
  /** The origin (and path prefix) of links, without a trailing slash. */
  readonly publicUrl: Effect.Effect<string>
  readonly setPublicUrl: (url: string) => Effect.Effect<void>
}

export class Lifecycle extends Context.Tag("@facedet/http-server/Lifecycle")<Lifecycle, Service>() {}

export const make: Effect.Effect<Service> = Effect.gen(function* () {
  const draining = yield* Ref.make(false)
  const publicUrl = yield* Deferred.make<string>()
  return {
    draining: Ref.get(draining),
    beginDrain: Ref.modify(draining, (was) => [!was, true] as const),
    publicUrl: Deferred.await(publicUrl),
    setPublicUrl: (url) => Effect.asVoid(Deferred.succeed(publicUrl, url))
  }
})

export const layer: Layer.Layer<Lifecycle> = Layer.effect(Lifecycle, make)
