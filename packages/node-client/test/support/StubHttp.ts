/**
 * A stub `HttpClient` for unit tests: records every request and answers from a script, on the Effect clock (a
 * reply can be delayed with `Effect.sleep`, driven by `TestClock`).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Duration from "effect/Duration"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

export interface Recorded {
  readonly method: string
  readonly url: URL
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  readonly bytes: Uint8Array | undefined
  /** When the request was made, on the Effect clock (TestClock in tests). */
  readonly at: number
}

/** What the stub answers: a web `Response`, a transport failure with an error code, or no answer at all. */
export type Reply = Response | { readonly transportCode: string } | "hang"

export type Script = (request: Recorded, index: number) => Reply | Effect.Effect<Reply>

export const json = (
  body: unknown,
  init: { readonly status?: number; readonly headers?: Record<string, string> } = {}
): Response =>
  new Response(JSON.stringify(body), {
    status: init.status ?? 200,
    headers: { "content-type": "application/json", ...init.headers }
  })

export const envelope = (code: number, message: string, headers: Record<string, string> = {}): Response =>
  json({ code, message, data: null }, { status: code, headers })

export const makeStub = (script: Script) => {
  const requests: Array<Recorded> = []
  const client = HttpClient.make((request, url) =>
    Effect.gen(function* () {
      const bytes = request.body._tag === "Uint8Array" ? request.body.body : undefined
      const recorded: Recorded = {
        method: request.method,
        url,
        path: url.pathname,
        headers: request.headers,
        body: bytes ? new TextDecoder().decode(bytes) : "",
        bytes,
        at: yield* Clock.currentTimeMillis
      }
      requests.push(recorded)
      const produced = script(recorded, requests.length - 1)
      const reply = Effect.isEffect(produced) ? yield* produced : produced
      if (reply === "hang") return yield* Effect.never
      if (reply instanceof Response) return HttpClientResponse.fromWeb(request, reply)
      const cause = new TypeError("fetch failed", {
        cause: Object.assign(new Error(`connect ${reply.transportCode}`), { code: reply.transportCode })
      })
      return yield* Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause }))
    })
  )
  return { layer: Layer.succeed(HttpClient.HttpClient, client), requests }
}

/** Replies in order; the last one repeats. */
export const sequence =
  (...replies: ReadonlyArray<() => Reply | Effect.Effect<Reply>>): Script =>
  (_request, index) =>
    replies[Math.min(index, replies.length - 1)]!()

/** Runs an effect to its end under TestClock, advancing the clock by `stepMs` at a time (bounded). */
export const runAdvancing = <A, E>(effect: Effect.Effect<A, E>, stepMs = 100, maxSteps = 20_000) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.fork(Effect.exit(effect))
    for (let i = 0; i < maxSteps && Option.isNone(yield* Fiber.poll(fiber)); i++) {
      yield* TestClock.adjust(Duration.millis(stepMs))
    }
    const polled = yield* Fiber.poll(fiber)
    if (Option.isNone(polled)) return yield* Effect.dieMessage("the effect did not finish: it hangs")
    return yield* Fiber.join(fiber)
  })
