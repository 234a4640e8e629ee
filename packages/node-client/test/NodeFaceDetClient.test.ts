/**
 * The undici layer (`@facedet/node-client/node`) against a scripted server on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { FaceDetClient } from "../src/index.js"
import { NodeFaceDetClient } from "../src/node.js"
import { fixtures, succeededFor } from "./support/fixtures.js"
import {
  closedPort,
  type Handler,
  type Scripted as ScriptedServer,
  start as startServer
} from "@facedet/testkit/ScriptedServer"

const taskId = "dit60yt8reqplt1c16"
const servers: Array<ScriptedServer> = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

const start = async (handler: Handler) => {
  const server = await startServer(handler)
  servers.push(server)
  return server
}

const fast = { retry: { initialDelay: 5, maxDelay: 20 }, poll: { initialDelay: 5, maxDelay: 20 } } as const

const detect = (baseUrl: string) =>
  Effect.flatMap(FaceDetClient.FaceDetClient, (client) =>
    client.detectFaces({ imageUrl: "https://example.com/group-photo.png" })
  ).pipe(Effect.provide(NodeFaceDetClient.layer({ apiKey: "sk-node", baseUrl, ...fast })))

describe("NodeFaceDetClient (undici)", () => {
  it.live("detects faces end to end, sending the key and the Idempotency-Key", () =>
    Effect.gen(function* () {
      const server = yield* Effect.promise(() =>
        start((req, _server, i) =>
          req.method === "POST"
            ? { body: fixtures.createOk }
            : { body: i === 1 ? fixtures.resultProcessing : succeededFor(taskId) }
        )
      )
      const done = yield* detect(server.url)
      expect(done.result.faces).toHaveLength(2)
      expect(server.requests).toHaveLength(3)
      expect(server.requests[0]?.headers["x-api-key"]).toBe("sk-node")
      expect(server.requests[0]?.headers["idempotency-key"]).toMatch(/^[0-9a-f-]{36}$/)
    })
  )

  it.live("maps undici's connection errors: refused is before sending, a dropped answer is after", () =>
    Effect.gen(function* () {
      const refused = yield* Effect.flip(detect(yield* Effect.promise(closedPort)))
      expect(refused._tag === "TransportError" && [refused.reason, refused.requestSent]).toEqual(["Connect", false])
      const server = yield* Effect.promise(() => start(() => "drop"))
      const dropped = yield* Effect.flip(detect(server.url))
      expect(dropped._tag === "TransportError" && [dropped.reason, dropped.requestSent]).toEqual(["Network", true])
      expect(server.requests).toHaveLength(1)
    })
  )
})
