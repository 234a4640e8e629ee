// Refreshes screenshot.png (used in the READMEs): starts the built server on a free port with a throw-away data
// directory, opens the console in Debian's Chromium, uploads the group photo from the server's test fixtures and
// captures the result as a small palette PNG. Run after `pnpm build`: `pnpm --filter @facedet/console screenshot`.
import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const serverRoot = join(here, "..", "..", "http-server")
const require = createRequire(join(serverRoot, "package.json"))
const { chromium } = require("playwright-core")
const sharp = require("sharp")
const key = "screenshot-key-0123456789"

const server = spawn(
  process.execPath,
  [join(serverRoot, "dist", "main.js"), "--port", "0", "--data-dir", mkdtempSync(join(tmpdir(), "facedet-shot-"))],
  {
    env: { ...process.env, FACEDET_API_KEYS: key },
    stdio: ["ignore", "pipe", "inherit"]
  }
)
const url = await new Promise((resolve, reject) => {
  let out = ""
  server.stdout.on("data", (c) => {
    out += c
    const m = /listening on (http:\/\/\S+)/.exec(out)
    if (m) resolve(m[1])
  })
  server.once("exit", (code) => reject(new Error(`server exited (${code})`)))
})
const browser = await chromium.launch({
  executablePath: process.env.FACEDET_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
})
try {
  const page = await browser.newPage({ viewport: { width: 760, height: 900 }, colorScheme: "light" })
  await page.goto(url)
  await page.fill("#api-key", key)
  await page.click("form.key button[type=submit]")
  await page.setInputFiles("input[type=file]", join(serverRoot, "test", "fixtures", "console", "group.jpg"))
  await page.waitForSelector("[data-face-id]", { timeout: 60_000 })
  await page.waitForFunction(
    "[...document.querySelectorAll('[data-crop-id] img')].every((img) => img.complete && img.naturalWidth > 0)"
  )
  // A palette PNG keeps the committed file small (about a quarter of the browser's).
  const shot = await page.locator(".task").screenshot()
  await sharp(shot)
    .png({ palette: true, quality: 85, compressionLevel: 9 })
    .toFile(join(here, "..", "screenshot.png"))
  console.log(`wrote ${join(here, "..", "screenshot.png")}`)
} finally {
  await browser.close()
  server.kill("SIGTERM")
}
