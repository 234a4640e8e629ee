/**
 * `FACEDET_CROPS=lazy`: an image task succeeds without any crop encoded, its source kept; the first link fetched
 * makes every crop of the task from one decode, and drops the source.
 */
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Crops from "../src/internal/crops.js"
import { createImage, type Origin, photo, type Running, startOrigin, startServer, waitTerminal } from "./support.js"

let origin: Origin
let lazy: Running

beforeAll(async () => {
  origin = await startOrigin({ "/two.jpg": { body: photo(2) } })
  lazy = await startServer({ allowPrivateUrls: true, crops: "lazy" })
})

afterAll(async () => {
  await lazy?.close()
  await origin?.close()
})

describe("lazy crops", () => {
  it("encodes no crop until a link is fetched, then all of the task's at once", async () => {
    expect(lazy.config.crops).toBe("lazy")
    const id = await createImage(lazy.url, `${origin.url}/two.jpg`)
    const data = await waitTerminal(lazy.url, id)
    expect(data.status).toBe("succeeded")
    const faces: Array<{ id: number; link: string }> = data.result.faces
    expect(faces.length).toBeGreaterThan(1)
    const root = lazy.config.dataDir
    const taskDir = join(root, "crops")
    const taskIds = existsSync(taskDir) ? readdirSync(taskDir) : []
    expect(taskIds).toEqual([])
    const sources = readdirSync(join(root, "sources"))
    expect(sources).toHaveLength(1)
    const taskId = sources[0]!

    // Two links at once: one batch serves both, every crop exists afterwards and the source is gone.
    const [a, b] = await Promise.all([fetch(faces[1]!.link), fetch(faces[0]!.link)])
    for (const res of [a, b]) {
      expect(res.status).toBe(200)
      const bytes = new Uint8Array(await res.arrayBuffer())
      expect([bytes[0], bytes[1], bytes.length > 1000]).toEqual([0xff, 0xd8, true])
    }
    for (const face of faces) expect(existsSync(join(root, Crops.cropPath(taskId, face.id)))).toBe(true)
    expect(existsSync(join(root, "sources", taskId))).toBe(false)
    for (const face of faces) expect((await fetch(face.link)).status).toBe(200)
  })
})
