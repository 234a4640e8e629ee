import { describe, expect, it } from "@effect/vitest"
import { Endpoints, OpenApi } from "../src/index.js"

const refsIn = (value: unknown, out: Array<string> = []): Array<string> => {
  if (Array.isArray(value)) for (const v of value) refsIn(v, out)
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref" && typeof v === "string") out.push(v)
      else refsIn(v, out)
    }
  }
  return out
}

describe("OpenApi", () => {
  const doc = OpenApi.document({ servers: ["http://127.0.0.1:8080"], version: "0.1.0" }) as {
    openapi: string
    paths: Record<string, Record<string, unknown>>
    components: { schemas: Record<string, { properties?: Record<string, unknown> }> }
    servers: Array<{ url: string }>
  }

  it("describes every call of the wire contract", () => {
    expect(doc.openapi).toBe("3.1.0")
    expect(doc.servers).toEqual([{ url: "http://127.0.0.1:8080" }])
    for (const path of Object.values(Endpoints.paths)) expect(Object.keys(doc.paths)).toContain(path)
  })

  it("has every $ref resolve to a component", () => {
    const refs = refsIn(doc)
    expect(refs.length).toBeGreaterThan(10)
    for (const ref of refs) {
      expect(ref.startsWith("#/components/schemas/"), ref).toBe(true)
      expect(doc.components.schemas[ref.slice("#/components/schemas/".length)], ref).toBeDefined()
    }
  })

  it("generates component schemas from the zod wire schemas", () => {
    const face = doc.components.schemas.Face
    expect(Object.keys(face?.properties ?? {})).toEqual(
      expect.arrayContaining(["id", "link", "box", "score", "landmarks", "first_seen_ms", "last_seen_ms"])
    )
    expect(doc.components.schemas.CreateImageDetection?.properties).toHaveProperty("image_url")
    expect(doc.components.schemas.CreateImageDetection?.properties).toHaveProperty("embeddings")
    expect(doc.components.schemas.CreateVideoDetection?.properties).toHaveProperty("embeddings")
    expect(JSON.stringify(doc)).not.toContain("$defs")
  })

  it("documents the callback: callback_url on both creates, and the signed webhook it POSTs", () => {
    expect(doc.components.schemas.CreateImageDetection?.properties).toHaveProperty("callback_url")
    expect(doc.components.schemas.CreateVideoDetection?.properties).toHaveProperty("callback_url")
    const webhooks = (doc as unknown as { webhooks: Record<string, { post: { parameters: Array<{ name: string }> } }> })
      .webhooks
    expect(webhooks.detectionEnded?.post.parameters.map((p) => p.name)).toEqual([
      "webhook-id",
      "webhook-timestamp",
      "webhook-signature"
    ])
    expect(doc.components.schemas.DetectionWebhook?.properties).toHaveProperty("data")
  })
})
