/**
 * The Promise client on every runtime it claims, against a real `facedet-server` process on 127.0.0.1: Node, Bun
 * (`@oven/bun-linux-x64`), Deno (`@deno/linux-x64-glibc`) and Chromium (Debian's, through playwright-core). Each runs
 * the same program (`program/check.mjs`): upload a photo, create and wait with long-poll, a typed error for a bad
 * key, an `AbortSignal` that stops a call, and a call that still works after it.
 */
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import * as esbuild from "esbuild"
import { chromium } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest"
import { startServer } from "../src/server.mjs"

const run = promisify(execFile)
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const require = createRequire(import.meta.url)
const image = here("./group.jpg")
const program = here("../program/run.mjs")
const bun = require.resolve("@oven/bun-linux-x64/bin/bun")
const deno = require.resolve("@deno/linux-x64-glibc/deno")
const chromiumPath = process.env.FACEDET_CHROMIUM ?? "/usr/bin/chromium"
if (!existsSync(chromiumPath) && process.env.CI === "true") {
  throw new Error(`Chromium is required in CI for the browser client test (${chromiumPath}); .ci/run installs it`)
}

interface Report {
  readonly baseUrl: string
  readonly serverInfo: unknown
  readonly detect: unknown
  readonly badKey: unknown
  readonly abort: unknown
  readonly after: unknown
}

/** What every runtime must report: the faces of the group photo, one result call, typed errors. */
const expectWorks = (report: Report, baseUrl: string) => {
  expect(report.baseUrl).toBe(baseUrl)
  expect(report.serverInfo).toEqual({ facedet: true, longPollSeconds: 30 })
  // Long-poll: the server holds the one result call until the task ends.
  expect(report.detect).toEqual({ status: "succeeded", faces: 7, resultCalls: 1 })
  expect(report.badKey).toEqual({ rejected: true, tag: "Unauthorized" })
  expect(report.abort).toMatchObject({ rejected: true, tag: "TransportError", reason: "Aborted" })
  expect(report.after).toEqual({ status: "succeeded", faces: 7 })
}

describe("the Promise client on every runtime", () => {
  let server: Awaited<ReturnType<typeof startServer>>

  beforeAll(async () => {
    server = await startServer(process.execPath, [
      require.resolve("@facedet/http-server/package.json").replace(/package\.json$/, "dist/main.js")
    ])
  })
  afterAll(async () => {
    // SIGTERM drains and exits 0.
    expect(await server?.stop()).toBe(0)
  })

  /** Runs the program with the server given as arguments, or (`fromEnv`) only in FACEDET_BASE_URL / _API_KEY. */
  const runProgram = async (command: string, args: ReadonlyArray<string>, fromEnv = false) => {
    const { stdout } = await run(
      command,
      [...args, program, image, ...(fromEnv ? ["--from-env"] : [server.url, server.key])],
      {
        cwd: here(".."),
        env: { ...process.env, ...(fromEnv ? { FACEDET_BASE_URL: server.url, FACEDET_API_KEY: server.key } : {}) },
        timeout: 90_000
      }
    )
    return JSON.parse(stdout.trim().split("\n").pop()!) as Report
  }

  it("Node", async () => {
    expectWorks(await runProgram(process.execPath, []), server.url)
    expectWorks(await runProgram(process.execPath, [], true), server.url)
  })

  it("Bun", async () => {
    const { stdout } = await run(bun, ["--version"])
    expect(stdout).toMatch(/^\d+\.\d+\.\d+/)
    expectWorks(await runProgram(bun, []), server.url)
    expectWorks(await runProgram(bun, [], true), server.url)
  })

  it("Deno, with only the permissions the client needs", async () => {
    const allow = ["--allow-net=127.0.0.1,example.invalid", `--allow-read=${here("..")}`]
    // Without environment access the client must not throw on the denied read of FACEDET_* variables.
    expectWorks(await runProgram(deno, ["run", ...allow]), server.url)
    expectWorks(await runProgram(deno, ["run", ...allow, "--deny-env"]), server.url)
    // The environment fallback needs --allow-env.
    expectWorks(await runProgram(deno, ["run", ...allow, "--allow-env"], true), server.url)
  })

  describe.runIf(existsSync(chromiumPath))("Chromium", () => {
    it("runs the bundled client in a page of the server's origin", async () => {
      const bundle = await esbuild.build({
        entryPoints: [here("../program/browser.mjs")],
        bundle: true,
        format: "esm",
        platform: "browser",
        write: false
      })
      const browser = await chromium.launch({
        executablePath: chromiumPath,
        args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
      })
      onTestFinished(() => browser.close())
      const page = await browser.newPage()
      const errors: Array<string> = []
      page.on("pageerror", (e) => errors.push(e.message))
      // The page is served under the server's origin (so its calls are same-origin); only these paths are ours.
      await page.route("**/__runtimes/**", (route) => {
        const path = new URL(route.request().url()).pathname
        if (path.endsWith("/check.js")) {
          return route.fulfill({ contentType: "text/javascript", body: bundle.outputFiles[0]!.text })
        }
        if (path.endsWith("/group.jpg")) return route.fulfill({ contentType: "image/jpeg", path: image })
        return route.fulfill({
          contentType: "text/html",
          body: '<!doctype html><script type="module" src="/__runtimes/check.js"></script>'
        })
      })
      await page.goto(`${server.url}/__runtimes/index.html`)
      await page.waitForFunction(() => "runCheck" in globalThis)
      const report = (await page.evaluate(
        ([url, key]) =>
          (globalThis as unknown as { runCheck: (u: string, k: string, i: string) => Promise<unknown> }).runCheck(
            url!,
            key!,
            "/__runtimes/group.jpg"
          ),
        [server.url, server.key]
      )) as Report
      expectWorks(report, server.url)
      expect(errors).toEqual([])
    })
  })
})
