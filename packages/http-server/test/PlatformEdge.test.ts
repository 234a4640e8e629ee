/**
 * The experimental `FACEDET_HTTP_EDGE=platform` edge (requests that need work answered by `@effect/platform`'s Node
 * handler) answers exactly as the default edge does: the same statuses, headers and bytes, over a real detection.
 */
import { request as httpRequest } from "node:http"
import * as DetectTask from "@facedet/core/DetectTask"
import * as Envelope from "@facedet/core/Envelope"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import {
  call,
  createImage,
  type Origin,
  paths,
  photo,
  type Running,
  startOrigin,
  startServer,
  testKey
} from "./support.js"

let origin: Origin
const servers: Record<"node" | "platform", Running> = {} as never

beforeAll(async () => {
  origin = await startOrigin({ "/one.jpg": { body: photo(1) } })
  servers.node = await startServer({ allowPrivateUrls: true })
  servers.platform = await startServer({ allowPrivateUrls: true, httpEdge: "platform" })
}, 60_000)

afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()))
  await origin.close()
})

/** Status, the headers that matter, and the body of an answer. */
const answer = async (url: string, init: RequestInit = {}) => {
  const res = await fetch(url, init)
  const body = Buffer.from(await res.arrayBuffer())
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    length: res.headers.get("content-length"),
    nosniff: res.headers.get("x-content-type-options"),
    requestId: res.headers.get("x-request-id"),
    retryAfter: res.headers.get("retry-after"),
    body
  }
}

const both = async (path: string, init: RequestInit = {}) => ({
  node: await answer(`${servers.node.url}${path}`, init),
  platform: await answer(`${servers.platform.url}${path}`, init)
})

describe("the platform edge", () => {
  it("answers probes, refusals and unknown routes byte for byte as the default edge", async () => {
    const key = { "x-api-key": testKey }
    for (const [path, init] of [
      ["/healthz", {}],
      ["/nowhere", {}],
      [paths.result, { headers: key }],
      [`${paths.result}?detect_task_id=missing`, { headers: { ...key, "x-request-id": "edge-check-1" } }],
      [paths.image, { method: "POST", headers: { ...key, "content-type": "application/json" }, body: "{ nope" }],
      [paths.image, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }]
    ] as const) {
      const { node, platform } = await both(path, init)
      expect(platform, path).toEqual(node)
    }
  })

  it("runs a detection: the same result shape, links that serve the same crop format, HEAD without a body", async () => {
    const results = await Promise.all(
      (["node", "platform"] as const).map(async (edge) => {
        const base = servers[edge].url
        const id = await createImage(base, `${origin.url}/one.jpg`)
        // A long-poll: the answer that needs work (a store read and a wait) goes through the edge under test.
        const polled = await call(`${base}${paths.result}?detect_task_id=${id}&wait=30`)
        expect(polled.status).toBe(200)
        const data = Envelope.success(DetectTask.ResultData).parse(polled.body).data
        expect(data.status).toBe("succeeded")
        const faces = data.result!.faces
        const crop = await answer(faces[0]!.link)
        const head = await new Promise<{ status: number; length: string | undefined; bytes: number }>((resolve) => {
          const req = httpRequest(`${base}/healthz`, { method: "HEAD" }, (res) => {
            let bytes = 0
            res.on("data", (c: Buffer) => (bytes += c.length))
            res.on("end", () => resolve({ status: res.statusCode!, length: res.headers["content-length"], bytes }))
          })
          req.end()
        })
        return { faces: faces.length, crop, head, keys: Object.keys(data.result!).sort() }
      })
    )
    const [node, platform] = results
    expect(platform!.faces).toBe(node!.faces)
    expect(platform!.keys).toEqual(node!.keys)
    expect(platform!.crop.status).toBe(200)
    expect(platform!.crop.type).toBe("image/jpeg")
    expect(Number(platform!.crop.length)).toBe(platform!.crop.body.length)
    expect([platform!.crop.body[0], platform!.crop.body[1]]).toEqual([0xff, 0xd8])
    expect(platform!.head).toEqual(node!.head)
    expect(platform!.head.bytes).toBe(0)
  })
})
