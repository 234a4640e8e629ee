/**
 * A full disk: the data directory on a small tmpfs mounted by the test (root only; elsewhere the test says why it
 * is skipped), filled up mid-run. Creates answer 455 with the envelope, uploads 507, nothing answers 500; the task
 * recorded before stays readable; and the service resumes by itself once space is freed.
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { call, createImage, paths, photo, type Running, startServer, tempDir } from "./support.js"

const mountPoint = tempDir("facedet-full-")
const mounted = (() => {
  if (process.getuid?.() !== 0) return "not root"
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mountPoint], { stdio: "ignore" })
    return true
  } catch (e) {
    return `mount failed: ${e instanceof Error ? e.message : String(e)}`
  }
})()
if (mounted !== true) process.stderr.write(`full-disk test skipped: cannot mount a tmpfs (${mounted})\n`)

describe.skipIf(mounted !== true)("a full disk", () => {
  let app: Running
  const filler = join(mountPoint, "filler")
  beforeAll(async () => {
    const dataDir = join(mountPoint, "data")
    mkdirSync(dataDir)
    // No free-space floor: the writes themselves must meet the full disk.
    app = await startServer({ dataDir, minFreeDiskBytes: 0, allowPrivateUrls: true, rateLimitPerSecond: 0 })
  })
  afterAll(async () => {
    await app?.close()
    execFileSync("umount", [mountPoint], { stdio: "ignore" })
    rmSync(mountPoint, { recursive: true, force: true })
  })

  it("answers 455 and 507 while full, keeps what it had, and resumes when space is freed", async () => {
    const before = await createImage(app.url, "http://127.0.0.1:9/before.jpg")
    // Fill the filesystem to the last byte.
    const chunk = Buffer.alloc(1 << 20)
    try {
      for (let i = 0; i < 64; i++) writeFileSync(filler, chunk, { flag: "a" })
    } catch {}
    try {
      for (let i = 0; i < 4096; i++) writeFileSync(filler, Buffer.alloc(512), { flag: "a" })
    } catch {}

    const created = await call(`${app.url}${paths.image}`, { body: { image_url: "http://127.0.0.1:9/during.jpg" } })
    expect(created.status, JSON.stringify(created.body)).toBe(455)
    expect(created.body).toMatchObject({ code: 455, data: null, message: "the server's disk is full; retry later" })
    expect(created.headers.get("retry-after")).toBe("30")
    const uploaded = await call(`${app.url}${paths.upload}`, { raw: photo(1) })
    expect(uploaded.status).toBe(507)
    expect(uploaded.body).toMatchObject({ code: 507, data: null })
    const earlier = await call(`${app.url}${paths.result}?detect_task_id=${before}`)
    expect(earlier.status).toBe(200)
    expect(earlier.body.data.detect_task_id).toBe(before)

    rmSync(filler)
    const after = await call(`${app.url}${paths.image}`, { body: { image_url: "http://127.0.0.1:9/after.jpg" } })
    expect(after.status).toBe(200)
    expect((await call(`${app.url}${paths.upload}`, { raw: photo(1) })).status).toBe(200)
    expect(app.logs.some((l) => /request failed/.test(l))).toBe(false)
  }, 60_000)
})
