/**
 * The built `facedet` command against a scripted server: every error path a user can meet, with the exit code and
 * the message it prints, plus the output contract (stdout for results, stderr for the rest).
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DetectTask } from "@facedet/core"
import { afterAll, beforeAll, describe, it } from "vitest"
import { runCli, until } from "./helpers/runCli.js"
import { photoPath as samplePhoto } from "@facedet/testkit/Media"
import { inProcess } from "./helpers/inProcess.js"
import * as Crun from "@facedet/testkit/Crun"
import { closedPort, envelope, type Handler, type Scripted, start } from "@facedet/testkit/ScriptedServer"

const fixture = (name: `${Crun.Name}.json`) => Crun.body(name.replace(/\.json$/, "") as Crun.Name) as { data: unknown }

const paths = {
  image: "/api/v1/client/job/detect-face-image",
  video: "/api/v1/client/job/detect-face-video",
  result: "/api/v1/client/job/detect-face-result",
  upload: "/api/v1/client/upload"
}

const taskId = "dit60yt8reqplt1c16"
const succeededData = fixture("result-succeeded.json").data as DetectTask.ResultData
const failedData = fixture("result-failed.json").data as DetectTask.ResultData

/** A server that creates `taskId` and answers its result from `results` in turn (the last one repeats). */
const task =
  (results: ReadonlyArray<unknown>, extra: { readonly headers?: Record<string, string> } = {}): Handler =>
  (req, server) => {
    const headers = extra.headers ?? {}
    if (req.method === "POST" && (req.path === paths.image || req.path === paths.video)) {
      return { headers, body: envelope(200, "success", { detect_task_id: taskId }) }
    }
    if (req.path === paths.result) {
      const asked = server.requests.filter((r) => r.path === paths.result).length
      return { headers, body: envelope(200, "success", results[Math.min(asked, results.length) - 1]) }
    }
    return { status: 404, headers, body: envelope(404, "no such endpoint") }
  }

const key = { FACEDET_API_KEY: "test-key" }
const at = (server: Scripted) => ({ ...key, FACEDET_BASE_URL: server.url })

// One scripted server per test, so the tests (each spawning the command, which is slow to start) run concurrently.
const servers: Array<Scripted> = []
afterAll(() => Promise.all(servers.map((s) => s.close())))
const serve = async (handler: Handler): Promise<Scripted> => {
  const server = await start(handler)
  servers.push(server)
  return server
}

describe.concurrent("success", () => {
  it("waits for the task and prints one line per face (box and score when sent) on stdout, progress on stderr", async ({
    expect
  }) => {
    const processing = { detect_task_id: taskId, status: "processing", result: null, error: null }
    const data = structuredClone(succeededData) as DetectTask.ResultData & { result: DetectTask.Result }
    data.result.faces[1] = { ...data.result.faces[1]!, box: [10, 20, 30.25, 31], score: 0.934 }
    const server = await serve(task([processing, data]))
    const ran = await runCli(["detect", "https://media.example/group.jpg"], { env: at(server) })
    expect(ran.code, ran.stderr).toBe(0)
    expect(ran.stdout.split("\n")).toEqual([
      `detect task ${taskId} succeeded: 2 faces`,
      expect.stringMatching(/^detect_id m1oZzqYp9dN {2}valid until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; a swap/),
      "face 0  https://example.com/detected-face-0.jpg",
      "face 1  https://example.com/detected-face-1.jpg  box 10,20,30.3,31  score 0.93",
      ""
    ])
    expect(ran.stderr).toContain(`detect task ${taskId} created`)
    // The request carried the key and the URL, to the image call (a .jpg).
    const create = server.requests.find((r) => r.path === paths.image)
    expect(create?.headers["x-api-key"]).toBe("test-key")
    expect(JSON.parse(create?.body.toString() ?? "{}")).toEqual({ image_url: "https://media.example/group.jpg" })
  })

  it("--json prints the wire data exactly, facedet's face fields included", async ({ expect }) => {
    const data = structuredClone(succeededData) as DetectTask.ResultData & { result: DetectTask.Result }
    data.result.faces[0] = { ...data.result.faces[0]!, box: [10, 20, 30, 31], score: 0.93, extra_field: "kept" }
    const server = await serve(task([data]))
    const ran = await runCli(["detect", "https://media.example/clip.mp4", "--json"], { env: at(server) })
    expect(ran.code, ran.stderr).toBe(0)
    const printed = JSON.parse(ran.stdout)
    expect(printed).toEqual(data)
    expect(DetectTask.ResultData.safeParse(printed).success).toBe(true)
    // A .mp4 URL goes to the video call.
    expect(server.requests.some((r) => r.path === paths.video)).toBe(true)
  })

  it("--no-wait prints only the detect_task_id; --video forces the video call", async ({ expect }) => {
    const server = await serve(task([succeededData]))
    const ran = await runCli(["detect", "https://media.example/a.png", "--no-wait", "--video"], { env: at(server) })
    expect(ran).toMatchObject({ code: 0, stdout: `${taskId}\n` })
    expect(server.requests.map((r) => r.path)).toEqual([paths.video])
  })
})

describe.concurrent("callbacks", () => {
  it("--callback-url sends callback_url and shows the key's webhook secret (answered once) on stderr", async ({
    expect
  }) => {
    const server = await serve((req) =>
      req.path === paths.image
        ? {
            body: envelope(200, "success", { detect_task_id: taskId, webhook_secret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0" })
          }
        : { status: 404, body: envelope(404, "no such endpoint") }
    )
    const ran = await runCli(
      ["detect", "https://media.example/a.jpg", "--no-wait", "--callback-url", "https://hooks.example.com/in"],
      { env: at(server) }
    )
    expect(ran).toMatchObject({ code: 0, stdout: `${taskId}\n` })
    expect(ran.stderr).toMatch(/webhook signing secret .*shown only this once.*: whsec_c2VjcmV0c2VjcmV0c2VjcmV0/)
    const create = server.requests.find((r) => r.path === paths.image)
    expect(JSON.parse(create?.body.toString() ?? "{}")).toEqual({
      image_url: "https://media.example/a.jpg",
      callback_url: "https://hooks.example.com/in"
    })
  })

  it("refuses a --callback-url that is not http(s), and --callback-url with --local", async ({ expect }) => {
    const bad = await runCli(["detect", "https://media.example/a.jpg", "--callback-url", "ftp://x.example/in"], {
      env: key
    })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("--callback-url: expected an http(s) URL")
    const local = await runCli(["detect", "photo.jpg", "--local", "--callback-url", "https://hooks.example.com/in"], {
      env: key
    })
    expect(local.code).toBe(2)
    expect(local.stderr).toContain("--callback-url needs a server")
  })
})

describe.concurrent("exit codes", () => {
  const answer =
    (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
    () => ({ status, body, headers })

  it.for<[string, Handler, number, string]>([
    ["401", answer(401, envelope(401, "invalid api key")), 3, "error: invalid api key"],
    ["402", answer(402, envelope(402, "insufficient credits")), 4, "error: insufficient credits"],
    ["422", answer(422, envelope(422, "image_url: must be an http(s) URL")), 2, "image_url: must be"],
    ["455", answer(455, envelope(455, "maintenance")), 8, "error: maintenance"],
    [
      "429 with a long Retry-After",
      answer(429, envelope(429, "slow down"), { "retry-after": "120" }),
      8,
      "asked to wait 2m 00s"
    ],
    [
      "HTML 502 from a proxy",
      answer(502, "<html><body>Bad Gateway</body></html>", { "content-type": "text/html" }),
      8,
      "502"
    ]
  ])("%s", async ([, handler, code, message], { expect }) => {
    const server = await serve(handler)
    const ran = await runCli(["detect", "https://media.example/a.jpg"], { env: at(server) })
    expect(ran.stdout).toBe("")
    expect(ran.stderr).toContain(message)
    expect(ran.code, ran.stderr).toBe(code)
  })

  it("a 429 with a short Retry-After is waited out and the create goes through", async ({ expect }) => {
    const base = task([succeededData])
    const server = await serve((req, s, i) =>
      s.requests.length === 1
        ? { status: 429, headers: { "retry-after": "1" }, body: envelope(429, "slow down") }
        : base(req, s, i)
    )
    const ran = await runCli(["detect", "https://media.example/a.jpg", "--no-wait"], { env: at(server) })
    expect(ran.code, ran.stderr).toBe(0)
    expect(ran.stdout).toBe(`${taskId}\n`)
    expect(server.requests.map((r) => r.path)).toEqual([paths.image, paths.image])
  })

  it("404 on a result is 'not found'", async ({ expect }) => {
    const server = await serve(answer(404, envelope(404, "task not found")))
    const ran = await runCli(["result", "dit000000000000000"], { env: at(server) })
    expect(ran).toMatchObject({ code: 5, stdout: "" })
    expect(ran.stderr).toContain("error: task not found")
  })

  it("a persistent 500 on a result is retried, then 'unavailable'; --log-level logs the retries on stderr", async ({
    expect
  }) => {
    const server = await serve(answer(500, envelope(500, "database down")))
    const ran = await runCli(["result", taskId, "--log-level", "debug"], { env: at(server) })
    expect(ran.code, ran.stderr).toBe(8)
    expect(ran.stderr).toContain("error: database down")
    expect(server.requests.length).toBe(3)
    expect(ran.stdout).toBe("")
    expect(ran.stderr.match(/facedet call failed/g)).toHaveLength(3)
  })

  it("malformed JSON is 'unexpected', with what the server said", async ({ expect }) => {
    const server = await serve(
      answer(200, '{"code": 200, "message": "success", "data": {', { "content-type": "application/json" })
    )
    const ran = await runCli(["result", taskId], { env: at(server) })
    expect(ran.code, ran.stderr).toBe(1)
    expect(ran.stderr).toContain("did not answer like a crun.ai / facedet API")
  })

  it("a failed task prints its code and Chinese message verbatim and exits 'task failed'", async ({ expect }) => {
    const server = await serve(task([failedData]))
    const ran = await runCli(["detect", "https://media.example/a.jpg"], { env: at(server) })
    expect(ran.code, ran.stderr).toBe(6)
    expect(ran.stdout).toBe("")
    expect(ran.stderr).toContain("FaceSwap.Detect.Failed: [任务NDm40D2DQp6] 未检测到人脸,源文件未检测到人脸")
  })

  it("a failed task with --json still prints its data on stdout", async ({ expect }) => {
    const server = await serve(task([failedData]))
    const ran = await runCli(["result", taskId, "--json"], { env: at(server) })
    expect(ran.code, ran.stderr).toBe(6)
    expect(JSON.parse(ran.stdout)).toEqual(failedData)
  })

  it("the wait deadline exits 'timeout' and says how to resume", async ({ expect }) => {
    const server = await serve(task([{ detect_task_id: taskId, status: "processing", result: null, error: null }]))
    const ran = await runCli(["detect", "https://media.example/a.jpg", "--timeout", "1s"], { env: at(server) })
    expect(ran.code, ran.stderr).toBe(7)
    expect(ran.stderr).toContain(`resume with: facedet result ${taskId} --wait`)
  })

  it("a refused connection is 'network'", async ({ expect }) => {
    const refusing = await closedPort()
    const ran = await runCli(["detect", "https://media.example/a.jpg"], {
      env: { ...key, FACEDET_BASE_URL: refusing }
    })
    expect(ran.code, ran.stderr).toBe(9)
    expect(ran.stderr).toContain("(ECONNREFUSED)")
    expect(ran.stderr).toContain(`could not reach ${refusing}`)
  })

  it("no API key is 'authentication', before anything is sent", async ({ expect }) => {
    const server = await serve(task([succeededData]))
    const ran = await runCli(["detect", "https://media.example/a.jpg", "--base-url", server.url])
    expect(ran.code, ran.stderr).toBe(3)
    expect(ran.stderr).toContain("FACEDET_API_KEY")
    expect(server.requests).toHaveLength(0)
  })

  it("bad flags are 'usage'", async ({ expect }) => {
    const ran = await runCli(["detetc", "https://media.example/a.jpg"], { env: key })
    expect(ran.code, ran.stderr).toBe(2)
    expect(ran.stderr).toContain("Invalid subcommand")
  })

  it("Ctrl-C while waiting exits 130 and says how to resume", async ({ expect }) => {
    const server = await serve(task([{ detect_task_id: taskId, status: "processing", result: null, error: null }]))
    const ran = await runCli(["detect", "https://media.example/a.jpg"], {
      env: at(server),
      onSpawn: (child, output) => {
        until(() => output.stderr().includes("created"), "the task to be created", 60_000).then(
          () => child.kill("SIGINT"),
          () => child.kill("SIGKILL")
        )
      }
    })
    expect(ran.code, ran.stderr).toBe(130)
    expect(ran.stderr).toContain(
      `detect task ${taskId} continues on the server; resume with: facedet result ${taskId} --wait`
    )
  })
})

/** A temporary folder holding `face.jpg` (a sample photo) for the tests of one block, removed after them. */
const folderWithPhoto = (prefix: string): (() => string) => {
  let dir = ""
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), prefix))
    copyFileSync(samplePhoto(1), join(dir, "face.jpg"))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  return () => dir
}

describe.concurrent("local files", () => {
  const dir = folderWithPhoto("facedet-cli-test-")

  it("are refused by a server without facedet's upload call, suggesting --local", async ({ expect }) => {
    const server = await serve(task([succeededData]))
    const ran = await runCli(["detect", join(dir(), "face.jpg")], { env: at(server) })
    expect(ran.code, ran.stderr).toBe(2)
    expect(ran.stderr).toContain("takes media by URL only")
    expect(ran.stderr).toContain("--local")
    expect(server.requests.some((r) => r.path === paths.upload)).toBe(false)
  })

  it("are uploaded to a facedet server, then detected by the URL it answers", async ({ expect }) => {
    const facedet = { "x-facedet-long-poll": "30" }
    const base = task([succeededData], { headers: facedet })
    const server = await serve((req, s, i) =>
      req.path === paths.upload
        ? { headers: facedet, body: envelope(200, "success", { url: `${s.url}/media/abc.jpg` }) }
        : base(req, s, i)
    )
    const ran = await runCli(["detect", join(dir(), "face.jpg"), "--no-wait"], { env: at(server) })
    expect(ran).toMatchObject({ code: 0, stdout: `${taskId}\n` })
    const upload = server.requests.find((r) => r.path === paths.upload)
    expect(upload?.headers["content-type"]).toBe("image/jpeg")
    expect(ran.stderr).toMatch(/uploading .*face\.jpg \(\d+ KiB\) to http:\/\/127\.0\.0\.1:\d+/)
    expect(upload?.body.equals(readFileSync(join(dir(), "face.jpg")))).toBe(true)
    const create = server.requests.find((r) => r.path === paths.image)
    expect(JSON.parse(create?.body.toString() ?? "{}")).toEqual({ image_url: `${server.url}/media/abc.jpg` })
  })

  it("that are missing or not media are 'usage'", async ({ expect }) => {
    const env = { ...key, FACEDET_BASE_URL: "http://127.0.0.1:9" }
    expect((await runCli(["detect", join(dir(), "missing.jpg")], { env })).code).toBe(2)
    const ran = await runCli(["detect", Crun.path("create-ok")], { env })
    expect(ran.code, ran.stderr).toBe(2)
    expect(ran.stderr).toContain("is not an image or video")
  })
})

describe.concurrent("faces download", () => {
  let out: string
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), "facedet-cli-faces-"))
  })
  afterAll(() => rmSync(out, { recursive: true, force: true }))

  it("saves every crop as face-<id>.jpg", async ({ expect }) => {
    const server = await serve(() => ({}))
    const data = structuredClone(succeededData) as DetectTask.ResultData & { result: DetectTask.Result }
    data.result.faces = [
      { id: 0, link: `${server.url}/crops/a.jpg` },
      { id: 1, link: `${server.url}/crops/b.jpg` }
    ]
    const base = task([data])
    server.handler = (req, s, i) =>
      req.path.startsWith("/crops/")
        ? { headers: { "content-type": "image/jpeg" }, body: Buffer.from(req.path) }
        : base(req, s, i)
    const dir = join(out, "nested", "faces")
    const ran = await runCli(["faces", "download", taskId, "--out", dir], { env: at(server) })
    expect(ran.code, ran.stderr).toBe(0)
    expect(ran.stdout).toBe(`face 0  ${join(dir, "face-0.jpg")}\nface 1  ${join(dir, "face-1.jpg")}\n`)
    expect(readFileSync(join(dir, "face-1.jpg"), "utf8")).toBe("/crops/b.jpg")
    // Crop links on the API's own origin get the key; it is the facedet server's own media.
    expect(server.requests.find((r) => r.path === "/crops/a.jpg")?.headers["x-api-key"]).toBe("test-key")
  })

  it("refuses a task still running, suggesting --wait", async ({ expect }) => {
    const server = await serve(task([{ detect_task_id: taskId, status: "processing", result: null, error: null }]))
    const ran = await runCli(["faces", "download", taskId, "--out", out], { env: at(server) })
    expect(ran.code, ran.stderr).toBe(7)
    expect(ran.stderr).toContain("is processing, not succeeded")
    expect(ran.stderr).toContain(`facedet result ${taskId} --wait`)
  })

  it("refuses a failed task with its error", async ({ expect }) => {
    const server = await serve(task([failedData]))
    const ran = await runCli(["faces", "download", taskId, "--out", out], { env: at(server) })
    expect(ran.code, ran.stderr).toBe(6)
    expect(ran.stderr).toContain("未检测到人脸")
  })

  it("a crop link answering 404 is 'not found'", async ({ expect }) => {
    const server = await serve(() => ({}))
    const data = structuredClone(succeededData) as DetectTask.ResultData & { result: DetectTask.Result }
    data.result.faces = [{ id: 0, link: `${server.url}/crops/gone.jpg` }]
    const base = task([data])
    server.handler = (req, s, i) => (req.path.startsWith("/crops/") ? { status: 404, body: "gone" } : base(req, s, i))
    const ran = await runCli(["faces", "download", taskId, "--out", out], { env: at(server) })
    expect(ran.code, ran.stderr).toBe(5)
    expect(ran.stderr).toContain("answered HTTP 404")
  })
})

// The same command line, run in this process (no process start-up): behaviour that does not involve the process.
describe.concurrent("in process", () => {
  const dir = folderWithPhoto("facedet-cli-inprocess-")

  it("a local file for crun.ai is refused before anything else, without a key or a request", async ({ expect }) => {
    const ran = await inProcess(["detect", join(dir(), "face.jpg")])
    expect(ran.code, ran.stderr).toBe(2)
    expect(ran.stderr).toContain("https://api.crun.ai takes media by URL only")
    expect(ran.stderr).toContain("--local")
  })

  it("--embeddings for crun.ai is refused before any request: crun.ai does not return them", async ({ expect }) => {
    const ran = await inProcess(["detect", "https://example.com/a.jpg", "--embeddings"], key)
    expect(ran.code, ran.stderr).toBe(2)
    expect(ran.stderr).toContain("https://api.crun.ai does not return embeddings")
  })

  it("a local file for a server that cannot be reached is 'network', not 'no uploads'", async ({ expect }) => {
    const ran = await inProcess(["detect", join(dir(), "face.jpg")], { ...key, FACEDET_BASE_URL: await closedPort() })
    expect(ran.code, ran.stderr).toBe(9)
    expect(ran.stderr).toContain("ECONNREFUSED")
    expect(ran.stderr).not.toContain("by URL only")
  })

  it("a bad --base-url is named as the flag", async ({ expect }) => {
    const ran = await inProcess(["result", taskId, "--base-url", "ftp://example.com"], key)
    expect(ran.code, ran.stderr).toBe(2)
    expect(ran.stderr).toContain("error: --base-url / FACEDET_BASE_URL: must be an http(s) URL")
  })

  it("result of a task found already succeeded promises no expiry date; one seen in flight does", async ({
    expect
  }) => {
    const processing = { detect_task_id: taskId, status: "processing", result: null, error: null }
    const done = await serve(task([succeededData]))
    const found = await inProcess(["result", taskId], at(done))
    expect(found.code, found.stderr).toBe(0)
    expect(found.stdout).toContain("detect_id m1oZzqYp9dN  valid for 1 h after detection")
    const watched = await serve(task([processing, succeededData]))
    const waited = await inProcess(["result", taskId, "--wait"], at(watched))
    expect(waited.code, waited.stderr).toBe(0)
    expect(waited.stdout).toMatch(/detect_id m1oZzqYp9dN {2}valid until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/)
  })

  it("faces download sends the key to the API's origin only, never past a redirect to another", async ({ expect }) => {
    const cdn = await serve((req) => ({
      headers: { "content-type": "image/jpeg" },
      body: Buffer.from(`cdn ${req.path}`)
    }))
    const server = await serve(() => ({}))
    const data = structuredClone(succeededData) as DetectTask.ResultData & { result: DetectTask.Result }
    data.result.faces = [
      { id: 0, link: `${server.url}/crops/a.jpg` },
      { id: 1, link: `${server.url}/crops/b.jpg` }
    ]
    const base = task([data])
    server.handler = (req, s, i) =>
      req.path === "/crops/a.jpg"
        ? { status: 302, headers: { location: "/crops/moved-a.jpg" }, body: "" }
        : req.path === "/crops/b.jpg"
          ? { status: 307, headers: { location: `${cdn.url}/b.jpg` }, body: "" }
          : req.path.startsWith("/crops/")
            ? { headers: { "content-type": "image/jpeg" }, body: Buffer.from(`api ${req.path}`) }
            : base(req, s, i)
    const out = join(dir(), "redirected")
    const ran = await inProcess(["faces", "download", taskId, "--out", out], at(server))
    expect(ran.code, ran.stderr).toBe(0)
    expect(readFileSync(join(out, "face-0.jpg"), "utf8")).toBe("api /crops/moved-a.jpg")
    expect(readFileSync(join(out, "face-1.jpg"), "utf8")).toBe("cdn /b.jpg")
    expect(server.requests.find((r) => r.path === "/crops/moved-a.jpg")?.headers["x-api-key"]).toBe("test-key")
    expect(cdn.requests).toHaveLength(1)
    expect(cdn.requests[0]?.headers["x-api-key"]).toBeUndefined()
  })

  it("faces download refuses a redirect loop and links that are not http(s)", async ({ expect }) => {
    const server = await serve(() => ({}))
    const data = structuredClone(succeededData) as DetectTask.ResultData & { result: DetectTask.Result }
    data.result.faces = [{ id: 0, link: `${server.url}/crops/loop.jpg` }]
    const base = task([data])
    server.handler = (req, s, i) =>
      req.path.startsWith("/crops/") ? { status: 302, headers: { location: req.path }, body: "" } : base(req, s, i)
    const loop = await inProcess(["faces", "download", taskId, "--out", join(dir(), "loop")], at(server))
    expect(loop.code).not.toBe(0)
    expect(loop.stderr).toContain("redirected more than 5 times")
    expect(server.requests.filter((r) => r.path === "/crops/loop.jpg")).toHaveLength(6)

    const local = structuredClone(data)
    local.result.faces = [{ id: 0, link: `file://${join(dir(), "face.jpg")}` }]
    const files = await serve(task([local]))
    const ran = await inProcess(["faces", "download", taskId, "--out", join(dir(), "files")], at(files))
    expect(ran.code).not.toBe(0)
    expect(ran.stderr).toContain("is not an http(s) URL")
    expect(existsSync(join(dir(), "files", "face-0.jpg"))).toBe(false)
  })
})
