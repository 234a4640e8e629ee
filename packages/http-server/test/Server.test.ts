/**
 * The server end to end with the real detector: real HTTP on 127.0.0.1, a loopback media origin with real photos,
 * and every answer checked against the wire contract (core's zod schemas).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { connect } from "node:net"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import * as DetectTask from "@facedet/core/DetectTask"
import * as Worker from "../src/Worker.js"
import * as Envelope from "@facedet/core/Envelope"
import * as TaskId from "@facedet/core/TaskId"
import * as Timestamp from "@facedet/core/Timestamp"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import sharp from "sharp"
import {
  call,
  createImage,
  makeMovingMedia,
  noFacePhoto,
  type Origin,
  otherKey,
  paths,
  photo,
  type Running,
  type ShiftedClock,
  shiftedClock,
  startOrigin,
  startServer,
  testKey,
  waitTerminal
} from "./support.js"

let origin: Origin
let app: Running
let time: ShiftedClock
const maxImageBytes = 1024 * 1024

beforeAll(async () => {
  const { mp4, gif } = makeMovingMedia(photo(1))
  origin = await startOrigin({
    "/one.jpg": { body: photo(1) },
    "/two.jpg": { body: photo(2) },
    "/three.jpg": { body: photo(3) },
    "/noface.jpg": { body: await noFacePhoto() },
    "/notes.txt": { body: Buffer.from("these are not image bytes, just some text\n".repeat(20)), type: "image/jpeg" },
    "/huge.jpg": { stream: 2 * maxImageBytes },
    "/stalled.jpg": { stall: photo(2) },
    "/empty.jpg": { body: Buffer.alloc(0) },
    "/corrupt.jpg": { body: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(4000, 0x5a)]) },
    "/clip.mp4": { body: mp4, type: "video/mp4" },
    "/anim.gif": { body: gif, type: "image/gif" }
  })
  origin.set("/png-as-video.mp4", {
    body: await sharp(photo(1)).png().toBuffer(),
    type: "video/mp4"
  })
  time = shiftedClock()
  app = await startServer(
    { allowPrivateUrls: true, maxImageBytes, workers: 2 },
    // Read through the fetcher's own variable, as in production: a stalled download ends after 2 s.
    { clock: time.clock, env: { FACEDET_FETCH_IMAGE_TIMEOUT_MS: "2000" } }
  )
})

afterAll(async () => {
  await app?.close()
  await origin?.close()
})

const url = (path: string) => `${app.url}${path}`

describe("detection", () => {
  it("finds the faces of a real photo and answers exactly in crun.ai's shape", async () => {
    const id = await createImage(app.url, `${origin.url}/one.jpg`)
    expect(id).toMatch(TaskId.detectTaskIdPattern)
    const data = await waitTerminal(app.url, id)
    expect(DetectTask.ResultData.safeParse(data).success).toBe(true)
    expect(data.status).toBe("succeeded")
    expect(data.error).toBeNull()
    const result = data.result
    expect(result.id).toMatch(TaskId.detectIdPattern)
    expect(result.status).toBe("succeed")
    expect(result.type).toBe("face_detect")
    expect(result.hair_id).toBeNull()
    expect(result.error).toBeNull()
    expect(Timestamp.parseUtc(result.started_at)).toBeTypeOf("number")
    expect(Timestamp.parseUtc(result.finished_at)).toBeGreaterThanOrEqual(Timestamp.parseUtc(result.started_at)!)
    expect(result.faces.length).toBeGreaterThan(0)
    expect(result.faces.map((f: { id: number }) => f.id)).toEqual(result.faces.map((_: unknown, i: number) => i))
    for (const face of result.faces) {
      expect(face.link.startsWith(`${app.server.publicUrl}/faces/`)).toBe(true)
      expect(face.box).toHaveLength(4)
      expect(face.score).toBeGreaterThan(0)
      expect(Object.keys(face.landmarks)).toContain("nose_tip")
      const crop = await fetch(face.link)
      expect(crop.status).toBe(200)
      expect(crop.headers.get("content-type")).toBe("image/jpeg")
      // Cached no longer than the link lives (an hour from the task's end).
      const maxAge = Number(/max-age=(\d+)/.exec(crop.headers.get("cache-control") ?? "")?.[1])
      expect(maxAge).toBeGreaterThan(3500)
      expect(maxAge).toBeLessThanOrEqual(3600)
      const head = await fetch(face.link, { method: "HEAD" })
      expect(head.status).toBe(200)
      expect(head.headers.get("content-length")).toBe(crop.headers.get("content-length"))
      const bytes = new Uint8Array(await crop.arrayBuffer())
      expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8])
    }
  })

  it("ends a photo without a face as failed with FaceSwap.Detect.Failed", async () => {
    const data = await waitTerminal(app.url, await createImage(app.url, `${origin.url}/noface.jpg`))
    expect(data.status).toBe("failed")
    expect(data.result).toBeNull()
    expect(data.error.code).toBe("FaceSwap.Detect.Failed")
    expect(data.error.message).toMatch(/no face/)
  })

  it("fails bad media with its own code, never a 500", async () => {
    // Every download failure is one code and one message (distinct ones would let a user probe ports and names
    // through the server); what the bytes turned out to be is the detector's to say.
    const cases = [
      ["image", "/notes.txt", "Media.DownloadFailed"],
      ["image", "/huge.jpg", "Media.DownloadFailed"],
      ["image", "/stalled.jpg", "Media.DownloadFailed"],
      ["image", "/missing.jpg", "Media.DownloadFailed"],
      ["image", "/empty.jpg", "Media.DownloadFailed"],
      ["image", "/corrupt.jpg", "Media.Corrupt"],
      ["video", "/png-as-video.mp4", "Media.DownloadFailed"]
    ] as const
    const ids = await Promise.all(
      cases.map(async ([kind, path]) => {
        const r = await call(url(kind === "image" ? paths.image : paths.video), {
          body: { [`${kind}_url`]: `${origin.url}${path}` }
        })
        expect(r.status, path).toBe(200)
        return r.body.data.detect_task_id as string
      })
    )
    // Nothing listens on port 1 of the loopback address: an unreachable host.
    ids.push(await createImage(app.url, "http://127.0.0.1:1/face.jpg"))
    const expected = [...cases.map(([, path, code]) => [path, code]), ["unreachable", "Media.DownloadFailed"]]
    for (const [i, id] of ids.entries()) {
      const data = await waitTerminal(app.url, id)
      expect(DetectTask.ResultData.safeParse(data).success).toBe(true)
      expect(data.status, expected[i]![0]).toBe("failed")
      expect(data.error.code, expected[i]![0]).toBe(expected[i]![1])
      expect(data.error.message, expected[i]![0]).not.toMatch(/\bat .*\.(ts|js):\d+/)
    }
    const messages = new Set<string>()
    for (const [i, id] of ids.entries()) {
      if (expected[i]![1] === "Media.DownloadFailed") messages.add((await waitTerminal(app.url, id)).error.message)
    }
    expect([...messages]).toEqual([Worker.downloadFailedMessage])
    const metrics = await (await fetch(url("/metrics"))).text()
    expect(metrics).toMatch(/facedet_tasks_total\{kind="image",outcome="Media.DownloadFailed"\} 6/)
    expect(metrics).not.toMatch(/code="500"/)
  })

  it("tracks people in an MP4 and an animated GIF", async () => {
    for (const path of ["/clip.mp4", "/anim.gif"]) {
      const created = await call(url(paths.video), { body: { video_url: `${origin.url}${path}` } })
      expect(created.status).toBe(200)
      const data = await waitTerminal(app.url, created.body.data.detect_task_id)
      expect(data.status, path).toBe("succeeded")
      expect(data.result.faces.length, path).toBeGreaterThan(0)
      for (const face of data.result.faces) {
        expect(face.first_seen_ms).toBeGreaterThanOrEqual(0)
        expect(face.last_seen_ms).toBeGreaterThanOrEqual(face.first_seen_ms)
        // One stretch here (no cut), spanning first to last seen; never an embedding unless asked for.
        expect(face.appearances).toEqual([[face.first_seen_ms, face.last_seen_ms]])
        expect(face.embedding).toBeUndefined()
      }
    }
  })
})

describe("embeddings", () => {
  it("embeddings: true adds each face's embedding (128 numbers) to an image's and a video's result", async () => {
    const plain = await waitTerminal(app.url, await createImage(app.url, `${origin.url}/one.jpg`))
    const asked = await call(url(paths.image), { body: { image_url: `${origin.url}/one.jpg`, embeddings: true } })
    expect(asked.status).toBe(200)
    const data = await waitTerminal(app.url, asked.body.data.detect_task_id)
    expect(DetectTask.ResultData.safeParse(data).success).toBe(true)
    expect(data.status).toBe("succeeded")
    // The same faces as without the option, each with its embedding.
    expect(data.result.faces.map((f: { box: unknown }) => f.box)).toEqual(
      plain.result.faces.map((f: { box: unknown }) => f.box)
    )
    for (const face of data.result.faces) {
      expect(face.embedding).toHaveLength(128)
      expect(face.embedding.every((v: unknown) => typeof v === "number" && Number.isFinite(v))).toBe(true)
    }
    expect(plain.result.faces.every((f: { embedding?: unknown }) => f.embedding === undefined)).toBe(true)
    const video = await call(url(paths.video), { body: { video_url: `${origin.url}/clip.mp4`, embeddings: true } })
    const clip = await waitTerminal(app.url, video.body.data.detect_task_id)
    expect(clip.status).toBe("succeeded")
    for (const face of clip.result.faces) expect(face.embedding).toHaveLength(128)
  })

  it("embeddings must be a boolean; with an Idempotency-Key it is part of the body compared", async () => {
    const bad = await call(url(paths.image), { body: { image_url: `${origin.url}/two.jpg`, embeddings: "yes" } })
    expect(bad.status).toBe(422)
    expect(bad.body.message).toContain("embeddings must be true or false")
    const headers = { "idempotency-key": "embeddings-1" }
    const a = await call(url(paths.image), { body: { image_url: `${origin.url}/two.jpg` }, headers })
    expect(a.status).toBe(200)
    const b = await call(url(paths.image), { body: { image_url: `${origin.url}/two.jpg`, embeddings: true }, headers })
    expect(b.status).toBe(422)
    const c = await call(url(paths.image), { body: { image_url: `${origin.url}/two.jpg`, embeddings: false }, headers })
    expect(c.body.data.detect_task_id).toBe(a.body.data.detect_task_id)
    await waitTerminal(app.url, a.body.data.detect_task_id)
  })
})

describe("the API's answers", () => {
  it("401 without a key or with a wrong one; the header name is case-insensitive", async () => {
    const missing = await call(url(`${paths.result}?detect_task_id=x`), { key: null })
    expect(missing.status).toBe(401)
    expect(missing.body).toMatchObject({ code: 401, data: null })
    const wrong = await call(url(`${paths.result}?detect_task_id=x`), { key: "not-the-right-key-at-all" })
    expect(wrong.status).toBe(401)
    const upper = await call(url(`${paths.result}?detect_task_id=nosuchtask`), {
      key: null,
      headers: { "X-API-KEY": testKey }
    })
    expect(upper.status).toBe(404)
  })

  it("404 for an unknown task, another key's task, an unknown route or a wrong method", async () => {
    const id = await createImage(app.url, `${origin.url}/two.jpg`)
    expect((await call(url(`${paths.result}?detect_task_id=abcdefghij0123456z`))).status).toBe(404)
    expect((await call(url(`${paths.result}?detect_task_id=${id}`), { key: otherKey })).status).toBe(404)
    const route = await call(url("/api/v1/client/job/nope"))
    expect(route.status).toBe(404)
    expect(Envelope.ErrorEnvelope.safeParse(route.body).success).toBe(true)
    expect((await call(url(paths.image), { method: "GET" })).status).toBe(404)
    expect((await call(url("/nothing-here"), { key: null })).status).toBe(404)
  })

  it("answers an ended task the same however the query spells it, and checks the query and key first", async () => {
    const id = await createImage(app.url, `${origin.url}/two.jpg`)
    const ended = await waitTerminal(app.url, id)
    expect(ended.status).toBe("succeeded")
    const encoded = `%${id.charCodeAt(0).toString(16)}${id.slice(1)}`
    for (const query of [
      `detect_task_id=${id}`,
      `detect_task_id=${encoded}`,
      `detect_task_id=${id}&wait=0`,
      `wait=5&detect_task_id=${id}`,
      `detect_task_id=${id}&unrelated=1`
    ]) {
      const r = await call(url(`${paths.result}?${query}`))
      expect(r.status, query).toBe(200)
      expect(r.body.data, query).toEqual(ended)
    }
    expect((await call(url(`${paths.result}?detect_task_id=${id}&detect_task_id=${id}`))).status).toBe(422)
    expect((await call(url(`${paths.result}?detect_task_id=${id}&wait=31`))).status).toBe(422)
    expect((await call(url(`${paths.result}?detect_task_id=${id}`), { key: otherKey })).status).toBe(404)
    expect((await call(url(`${paths.result}?detect_task_id=${id}`), { key: "not-a-key" })).status).toBe(401)
  })

  it("422 for malformed JSON, a wrong body, a bad URL, a deep body, a bad query", async () => {
    const bad = [
      await call(url(paths.image), { raw: "{not json", headers: { "content-type": "application/json" } }),
      await call(url(paths.image), { body: { url: "http://x.example/a.jpg" } }),
      await call(url(paths.image), { body: { image_url: "ftp://example.com/a.jpg" } }),
      await call(url(paths.image), { body: { image_url: "http://user:pw@example.com/a.jpg" } }),
      await call(url(paths.video), { body: { image_url: `${origin.url}/clip.mp4` } }),
      await call(url(paths.image), { raw: `{"image_url": ${"[".repeat(100)}${"]".repeat(100)}}` }),
      await call(url(paths.image), { raw: JSON.stringify({ image_url: `http://example.com/${"a".repeat(70_000)}` }) }),
      await call(url(paths.result)),
      await call(url(`${paths.result}?detect_task_id=x&wait=soon`)),
      await call(url(`${paths.result}?detect_task_id=x&wait=31`))
    ]
    for (const r of bad) {
      expect(r.status).toBe(422)
      expect(r.body.code).toBe(422)
      expect(r.body.data).toBeNull()
      expect(JSON.stringify(r.body)).not.toMatch(/\bat .*\.(ts|js):\d+/)
    }
    expect(bad[1]!.body.message).toMatch(/image_url/)
  })

  it("answers odd and hostile requests with envelopes, never a bare status or a 500", async () => {
    const raw = (text: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(Number(new URL(app.url).port), "127.0.0.1", () => socket.end(text))
        let out = ""
        socket.on("data", (chunk) => {
          out += chunk.toString("latin1")
        })
        socket.on("close", () => resolve(out))
      })
    const garbage = await raw("GARBAGE\r\n\r\n")
    expect(garbage).toMatch(/^HTTP\/1\.1 422 /)
    expect(JSON.parse(garbage.slice(garbage.indexOf("\r\n\r\n") + 4))).toMatchObject({ code: 422, data: null })
    const bigHeaders = await call(url(`${paths.result}?detect_task_id=x`), { headers: { "x-big": "a".repeat(20_000) } })
    expect(bigHeaders.status).toBe(422)
    expect(bigHeaders.body.message).toMatch(/headers are larger/)

    const utf8 = (text: string) => Buffer.from(text, "utf8")
    const jsonBody = utf8(JSON.stringify({ image_url: `${origin.url}/one.jpg` }))
    const answers = {
      duplicateId: await call(url(`${paths.result}?detect_task_id=a&detect_task_id=b`)),
      duplicateWait: await call(url(`${paths.result}?detect_task_id=a&wait=1&wait=2`)),
      notUtf8: await call(url(paths.image), {
        raw: Buffer.concat([utf8('{"image_url": "http://a.example.com/'), Buffer.from([0xff, 0xfe]), utf8('.jpg"}')])
      }),
      gzip: await call(url(paths.image), { raw: gzipSync(jsonBody), headers: { "content-encoding": "gzip" } }),
      videoUploadAsImage: await call(url(paths.image), {
        body: {
          image_url: (
            await call(url(paths.upload), { raw: readFileSync(new URL("./fixtures/media/clip.mp4", import.meta.url)) })
          ).body.data.url
        }
      })
    }
    for (const [name, r] of Object.entries(answers)) {
      expect(r.status, name).toBe(422)
      expect(r.body, name).toMatchObject({ code: 422, data: null })
    }
    expect(answers.duplicateId.body.message).toMatch(/detect_task_id is given more than once/)
    expect(answers.notUtf8.body.message).toMatch(/UTF-8/)
    expect(answers.videoUploadAsImage.body.message).toMatch(/mp4.*detect-face-video/)
    // A byte-order mark is tolerated; a long, odd id is echoed short and without control characters.
    const bom = await call(url(paths.image), { raw: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), jsonBody]) })
    expect(bom.status).toBe(200)
    const odd = await call(url(`${paths.result}?detect_task_id=%00${"z".repeat(5000)}`))
    expect(odd.status).toBe(404)
    expect(odd.body.message.length).toBeLessThan(120)
    expect(odd.body.message.includes("\u0000")).toBe(false)

    // HEAD is GET without the body, for the probes and the crop links alike.
    const head = await fetch(url("/healthz"), { method: "HEAD" })
    expect(head.status).toBe(200)
    expect(Number(head.headers.get("content-length"))).toBeGreaterThan(0)
    expect(await head.text()).toBe("")
  })

  it("505 for the crun.ai swap calls this server does not implement", async () => {
    const create = await call(url("/api/v1/client/job/CreateTask"), {
      body: {
        model: "image-face-swap",
        input: { image_url: "https://a.example/x.jpg", new_face: "https://a.example/y.jpg" }
      }
    })
    expect(create.status).toBe(505)
    expect(create.body.code).toBe(505)
    expect((await call(url("/api/v1/client/job/TaskInfo?task_id=t"))).status).toBe(505)
  })

  it("advertises long-polling on every API answer, errors included", async () => {
    for (const r of [
      await call(url(`${paths.result}?detect_task_id=x`), { key: null }),
      await call(url(paths.image), { body: { image_url: `${origin.url}/one.jpg` } }),
      await call(url("/api/v1/client/job/nope"))
    ]) {
      expect(r.headers.get("x-facedet-long-poll")).toBe("30")
    }
  })

  it("long-polls: wait holds the request until the task ends", async () => {
    const id = await createImage(app.url, `${origin.url}/three.jpg`)
    const r = await call(url(`${paths.result}?detect_task_id=${id}&wait=30`))
    expect(r.status).toBe(200)
    expect(r.body.data.status).toBe("succeeded")
  })

  it("Idempotency-Key: the same key and body give the same task; another body is a 422", async () => {
    const headers = { "idempotency-key": "order-42" }
    const a = await call(url(paths.image), { body: { image_url: `${origin.url}/two.jpg` }, headers })
    const b = await call(url(paths.image), { body: { image_url: `${origin.url}/two.jpg` }, headers })
    expect(a.status).toBe(200)
    expect(b.body.data.detect_task_id).toBe(a.body.data.detect_task_id)
    const other = await call(url(paths.image), { body: { image_url: `${origin.url}/three.jpg` }, headers })
    expect(other.status).toBe(422)
    // Keys are per API key: the other key gets its own task.
    const c = await call(url(paths.image), { body: { image_url: `${origin.url}/two.jpg` }, headers, key: otherKey })
    expect(c.body.data.detect_task_id).not.toBe(a.body.data.detect_task_id)
  })

  it("uploads: raw bytes become a URL usable as image_url, read from disk", async () => {
    const up = await call(url(paths.upload), { raw: photo(1), headers: { "content-type": "image/jpeg" } })
    expect(up.status).toBe(200)
    expect(up.body.data.url).toMatch(new RegExp(`^${app.server.publicUrl}/uploads/[A-Za-z0-9]{32}$`))
    const data = await waitTerminal(app.url, await createImage(app.url, up.body.data.url))
    expect(data.status).toBe("succeeded")
    // The server does not serve uploads over HTTP at all: the task above succeeded by reading the file from disk.
    expect((await call(up.body.data.url)).status).toBe(404)
    const text = await call(url(paths.upload), {
      raw: "hello, not a picture",
      headers: { "content-type": "image/jpeg" }
    })
    expect(text.status).toBe(422)
    const unknown = await call(url(paths.image), {
      body: { image_url: `${app.server.publicUrl}/uploads/${"A".repeat(32)}` }
    })
    expect(unknown.status).toBe(422)
  })

  it("an AVIF whose major brand is the generic mif1 is accepted at upload and detected, not failed later", async () => {
    // The server's sniffer and the detector's used to disagree on this file (AVIF here, HEIC there).
    const avif = await sharp(photo(1)).avif({ quality: 60, effort: 0 }).toBuffer()
    avif.write("mif1", 8, "latin1")
    const up = await call(url(paths.upload), { raw: avif })
    expect(up.status).toBe(200)
    expect(up.body.data.format).toBe("avif")
    const data = await waitTerminal(app.url, await createImage(app.url, up.body.data.url))
    expect(data.status, JSON.stringify(data.error)).toBe("succeeded")
    expect(data.result.faces.length).toBeGreaterThan(0)
  })

  it("serves health, readiness, metrics and the OpenAPI document without a key", async () => {
    expect((await call(url("/healthz"), { key: null })).body.data.status).toBe("ok")
    expect((await call(url("/readyz"), { key: null })).body.data.status).toBe("ready")
    const openapi = await call(url("/openapi.json"), { key: null })
    expect(openapi.body.openapi).toBe("3.1.0")
    expect(Object.keys(openapi.body.paths)).toContain(paths.result)
    const metrics = await fetch(url("/metrics"))
    const text = await metrics.text()
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/)
    expect(text).toMatch(/facedet_tasks_total\{kind="image",outcome="succeeded"\} \d+/)
    expect(text).toMatch(/facedet_tasks_total\{kind="image",outcome="FaceSwap.Detect.Failed"\} \d+/)
    expect(text).toMatch(/facedet_queue_depth\{state="queued"\} \d+/)
    expect(text).toMatch(/facedet_detection_seconds_bucket\{kind="image",le="\+Inf"\} \d+/)
    // Where the tasks' time went, stage by stage (the tasks of the tests above).
    for (const stage of ["queued", "download", "detect", "record", "crops"]) {
      expect(text).toMatch(new RegExp(`facedet_task_stage_seconds_count\\{kind="image",stage="${stage}"\\} [1-9]`))
    }
    expect(text).toMatch(/facedet_task_stage_seconds_count\{kind="video",stage="detect"\} [1-9]/)
    expect(text).toMatch(
      /facedet_http_request_duration_seconds_count\{route="\/api\/v1\/client\/job\/detect-face-result",code="200"\} \d+/
    )
  })
})

describe("retention", () => {
  it("crops and uploads expire after the hour; task records after the retention period", async () => {
    const id = await createImage(app.url, `${origin.url}/one.jpg`)
    const data = await waitTerminal(app.url, id)
    const link: string = data.result.faces[0].link
    const cropFile = join(app.config.dataDir, "crops", id, "0.jpg")
    expect((await fetch(link)).status).toBe(200)
    expect(existsSync(cropFile)).toBe(true)
    const up = await call(url(paths.upload), { raw: photo(2) })
    const uploadFile = join(app.config.dataDir, "uploads", up.body.data.url.split("/").pop())
    expect(existsSync(uploadFile)).toBe(true)

    time.advance(61 * 60_000)
    expect((await fetch(link)).status).toBe(404)
    await Effect.runPromise(Effect.withClock(app.server.sweep, time.clock))
    expect(existsSync(cropFile)).toBe(false)
    expect(existsSync(uploadFile)).toBe(false)
    // The record stays (24 h), the link does not.
    expect((await call(url(`${paths.result}?detect_task_id=${id}`))).status).toBe(200)

    // A file no record owns (a crash between writing a task's files and recording it) goes too, once old enough.
    const orphan = join(app.config.dataDir, "sources", "orphanorphanorphan")
    writeFileSync(orphan, "left behind")
    time.advance(24 * 3_600_000)
    await Effect.runPromise(Effect.withClock(app.server.sweep, time.clock))
    expect((await call(url(`${paths.result}?detect_task_id=${id}`))).status).toBe(404)
    expect(existsSync(orphan)).toBe(false)
  })
})
