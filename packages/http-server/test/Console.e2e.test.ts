/**
 * The web console in a real browser: Debian's Chromium driven by playwright-core against a real server (real
 * detector) on 127.0.0.1. What a user does: enter the key, upload a photo (then a short video), watch the task end,
 * and see one drawn box per face the API reports; a wrong key shows the 401 advice; the pages carry their CSP and
 * log no error. Without Chromium the suite is skipped, except in CI (`CI=true`), where `.ci/run` installs it.
 */
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { locateFfmpeg } from "@facedet/detector/VideoFrames"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type Browser, chromium, type Page } from "playwright-core"
import { TaskErrorCode } from "@facedet/core/TaskErrorCode"
import sharp from "sharp"
import { call, noFacePhoto, paths, type Running, startServer, tempDir, testKey } from "./support.js"

const executablePath = process.env.FACEDET_CHROMIUM ?? "/usr/bin/chromium"
const available = existsSync(executablePath)
if (!available && process.env.CI === "true") {
  throw new Error(`Chromium is required in CI for the console's browser tests (${executablePath}); .ci/run installs it`)
}
if (!available)
  console.warn(`console browser tests skipped: no Chromium at ${executablePath} (apt-get install chromium)`)

/** The little of the DOM the page functions touch (this package compiles without the DOM library). */
interface BrowserGlobals {
  readonly document: { querySelector: (selector: string) => { readonly textContent: string | null } | null }
}

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/console/${name}`, import.meta.url))

/** A 2 s WebM (VP8, which every Chromium plays) of the group photo, made with ffmpeg. */
const makeVideo = (): string => {
  const ffmpeg = locateFfmpeg()
  if (!ffmpeg) throw new Error("ffmpeg is needed to make the console's test video")
  const out = join(tempDir("facedet-console-"), "group.webm")
  execFileSync(ffmpeg, [
    "-v",
    "error",
    "-y",
    "-loop",
    "1",
    "-i",
    fixture("group.jpg"),
    "-t",
    "2",
    "-r",
    "5",
    "-c:v",
    "libvpx",
    "-b:v",
    "400k",
    "-pix_fmt",
    "yuv420p",
    out
  ])
  return out
}

describe.runIf(available)("the console in Chromium", () => {
  let server: Running
  let browser: Browser
  const errors: Array<string> = []

  beforeAll(async () => {
    server = await startServer({})
    browser = await chromium.launch({
      executablePath,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    })
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  const open = async (): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } })
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text())
    })
    page.on("pageerror", (e) => errors.push(e.message))
    const response = await page.goto(server.url)
    expect(response?.status()).toBe(200)
    const csp = response?.headers()["content-security-policy"] ?? ""
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("connect-src 'self'")
    expect(csp).not.toContain("unsafe-inline")
    return page
  }

  const enterKey = async (page: Page, key: string) => {
    await page.fill("#api-key", key)
    await page.click("form.key button[type=submit]")
  }

  /** Uploads `file` through the page and waits for its task to end; the task id shown and the API's faces. */
  const detect = async (page: Page, file: string) => {
    const before = (await page.locator(".task h2 code").count()) > 0 ? await page.textContent(".task h2 code") : null
    await page.setInputFiles("input[type=file]", file)
    // A new task, and then its end (the previous task's ended badge must not count).
    await page.waitForFunction(
      (previous) => {
        const code = (globalThis as unknown as BrowserGlobals).document.querySelector(".task h2 code")
        return code !== null && code.textContent !== previous
      },
      before,
      { timeout: 30_000 }
    )
    await page.waitForSelector(".task .badge[data-status=succeeded], .task .badge[data-status=failed]", {
      timeout: 60_000
    })
    const id = (await page.textContent(".task h2 code"))!.trim()
    const api = await call(`${server.url}${paths.result}?detect_task_id=${id}`, { key: testKey })
    expect(api.body.data.status).toBe("succeeded")
    return api.body.data.result.faces as Array<{ id: number }>
  }

  it("uploads a photo and draws one box per face the API reports, with its crop", async () => {
    const page = await open()
    await enterKey(page, testKey)
    const faces = await detect(page, fixture("group.jpg"))
    expect(faces.length).toBeGreaterThanOrEqual(5)
    await page.waitForSelector("[data-face-id]")
    expect(await page.locator("[data-face-id]").count()).toBe(faces.length)
    expect(await page.locator("[data-crop-id]").count()).toBe(faces.length)
    for (const f of faces) await expect(page.locator(`[data-face-id="${f.id}"]`).count()).resolves.toBe(1)
    // Hovering a crop highlights its box.
    await page.hover(`[data-crop-id="${faces[0]!.id}"]`)
    expect(await page.getAttribute(`[data-face-id="${faces[0]!.id}"]`, "class")).toContain("hot")
    // The crops load from the server's face links.
    await page.waitForFunction(
      "[...document.querySelectorAll('[data-crop-id] img')].every((img) => img.complete && img.naturalWidth > 0)"
    )
    expect(await page.textContent(".detect-id")).toMatch(/valid for \d+:\d\d/)
    // The session's list reopens it.
    expect(await page.locator("[data-task-id]").count()).toBe(1)
    expect(errors).toEqual([])
    await page.close()
  }, 90_000)

  it("uploads a short video and draws one box per person", async () => {
    const page = await open()
    await enterKey(page, testKey)
    const faces = await detect(page, makeVideo())
    expect(faces.length).toBeGreaterThan(0)
    await page.waitForSelector("[data-face-id]", { timeout: 20_000 })
    expect(await page.locator("[data-face-id]").count()).toBe(faces.length)
    expect(await page.textContent(".faces .count")).toMatch(/\d+ (person|people)/)
    expect(await page.locator("[data-crop-id] span").first().textContent()).toMatch(/\d\.\d s–\d\.\d s/)
    expect(errors).toEqual([])
    await page.close()
  }, 120_000)

  it("copes with 0 and 200+ faces, at a phone's width", async () => {
    const page = await open()
    await page.setViewportSize({ width: 390, height: 844 })
    await enterKey(page, testKey)
    const dir = tempDir("facedet-console-")
    writeFileSync(join(dir, "none.jpg"), await noFacePhoto())
    await page.setInputFiles("input[type=file]", join(dir, "none.jpg"))
    const failed = page.locator(`[data-error-code="${TaskErrorCode.NoFace}"]`)
    await failed.waitFor({ timeout: 60_000 })
    expect(await failed.textContent()).toMatch(/No face was found/)

    // The group photo tiled 6 x 5: a 3000x1875 crowd of about 210 faces.
    const tile = readFileSync(fixture("group.jpg"))
    const crowd = await sharp({ create: { width: 3000, height: 1875, channels: 3, background: "#000" } })
      .composite(
        Array.from({ length: 30 }, (_, i) => ({ input: tile, left: (i % 6) * 500, top: Math.floor(i / 6) * 375 }))
      )
      .jpeg({ quality: 90 })
      .toBuffer()
    writeFileSync(join(dir, "crowd.jpg"), crowd)
    const faces = await detect(page, join(dir, "crowd.jpg"))
    expect(faces.length).toBeGreaterThanOrEqual(200)
    await page.waitForSelector("[data-face-id]")
    expect(await page.locator("[data-face-id]").count()).toBe(faces.length)
    expect(await page.locator("[data-crop-id]").count()).toBe(faces.length)
    // Nothing wider than the screen: no sideways scrolling on a phone.
    expect(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true)
    // The keyboard reaches every control: tabbing from the key field gets to the crops.
    await page.focus("#api-key")
    const reached = new Set<string>()
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press("Tab")
      reached.add(
        String(await page.evaluate("document.activeElement?.tagName + ':' + (document.activeElement?.type ?? '')"))
      )
    }
    expect([...reached].some((r) => r.startsWith("INPUT:file"))).toBe(true)
    expect([...reached].some((r) => r.startsWith("INPUT:url"))).toBe(true)
    // The session's list reopens the earlier task, failure and all.
    const tasks = page.locator("[data-task-id]")
    expect(await tasks.count()).toBe(2)
    const first = (await tasks.nth(1).getAttribute("data-task-id"))!
    await tasks.nth(1).click()
    await failed.waitFor()
    expect((await page.textContent(".task h2 code"))?.trim()).toBe(first)
    expect(errors).toEqual([])
    await page.close()
  }, 180_000)

  it("shows what to do when the key is refused", async () => {
    const page = await open()
    await enterKey(page, "not-the-right-key-0000")
    await page.setInputFiles("input[type=file]", fixture("group.jpg"))
    const alert = page.locator("[data-refusal='401']")
    await alert.waitFor()
    expect(await alert.textContent()).toMatch(/API key was refused/)
    // The page's own 401 answer is the only error the browser reports.
    expect(errors.filter((e) => !/401/.test(e))).toEqual([])
    errors.length = 0
    await page.close()
  }, 60_000)

  it("serves the API reference at /docs from this server, rendering /openapi.json", async () => {
    const page = await browser.newPage()
    const failed: Array<string> = []
    page.on("requestfailed", (r) => failed.push(r.url()))
    const response = await page.goto(`${server.url}/docs`)
    expect(response?.headers()["content-security-policy"]).toContain("connect-src 'self'")
    await page.waitForSelector("text=detect-face-image", { timeout: 30_000 })
    expect(failed.filter((u) => !u.startsWith(server.url))).toEqual([])
    await page.close()
  }, 60_000)
})

describe("the console's switch", () => {
  it("FACEDET_CONSOLE=false turns / and /docs off; assets are immutable when on", async () => {
    const off = await startServer({ console: false })
    try {
      expect((await fetch(`${off.url}/`)).status).toBe(404)
      expect((await fetch(`${off.url}/docs`)).status).toBe(404)
    } finally {
      await off.close()
    }
    const on = await startServer({})
    try {
      const page = await fetch(`${on.url}/`)
      expect(page.status).toBe(200)
      expect(page.headers.get("cache-control")).toBe("no-cache")
      const html = await page.text()
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
      const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!
      const js = await fetch(`${on.url}${asset}`)
      expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8")
      expect(js.headers.get("cache-control")).toContain("immutable")
      expect((await fetch(`${on.url}/assets/../index.html`)).status).toBe(404)
      expect(readFileSync(fixture("group.jpg")).length).toBeGreaterThan(0)
    } finally {
      await on.close()
    }
  })
})
