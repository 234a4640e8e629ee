/**
 * End to end: the built `facedet` command against the real self-hosted server, itself started with
 * `facedet serve` on 127.0.0.1 (port 0, a temporary data dir, a known API key), detecting faces in real photos
 * served from a loopback media origin; and `--local`, with no server at all.
 */
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { deflateSync } from "node:zlib"
import { DetectTask, TaskId } from "@facedet/core"
import { afterAll, beforeAll, describe, it } from "vitest"
import { type Ran, runCli, until } from "./helpers/runCli.js"
import { photoPath as samplePhoto } from "@facedet/testkit/Media"

const apiKey = "fd_cli_end_to_end_test_key_0123456789"
let work: string
let media: Server
let mediaUrl: string
let serve: { child: ChildProcess; done: Promise<Ran>; stdout: () => string }
let baseUrl: string
const env = () => ({ FACEDET_API_KEY: apiKey, FACEDET_BASE_URL: baseUrl })

/** A 64x64 grey PNG: a real image with no face in it. */
const blankPng = (): Buffer => {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    return c >>> 0
  })
  const crc = (buf: Buffer) => {
    let c = 0xffffffff
    for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8)
    return (c ^ 0xffffffff) >>> 0
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type, "ascii"), data])
    const sum = Buffer.alloc(4)
    sum.writeUInt32BE(crc(body))
    return Buffer.concat([len, body, sum])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(64, 0)
  header.writeUInt32BE(64, 4)
  header.set([8, 0, 0, 0, 0], 8) // 8-bit greyscale
  const rows = Buffer.alloc(64 * 65, 0x80)
  for (let y = 0; y < 64; y++) rows[y * 65] = 0 // filter byte per row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0))
  ])
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "facedet-cli-e2e-"))
  writeFileSync(join(work, "blank.png"), blankPng())
  media = createServer((req, res) => {
    const n = /^\/sample(\d)\.jpg$/.exec(req.url ?? "")?.[1]
    if (n === undefined) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { "content-type": "image/jpeg" }).end(readFileSync(samplePhoto(Number(n))))
  })
  await new Promise<void>((resolve) => media.listen(0, "127.0.0.1", resolve))
  mediaUrl = `http://127.0.0.1:${(media.address() as AddressInfo).port}`

  let stdout = () => ""
  let child: ChildProcess | undefined
  const done = runCli(["serve", "--port", "0", "--host", "127.0.0.1", "--data-dir", join(work, "data")], {
    env: { FACEDET_API_KEYS: apiKey, FACEDET_ALLOW_PRIVATE_URLS: "true", FACEDET_WORKERS: "2" },
    onSpawn: (c, output) => {
      child = c
      stdout = output.stdout
    }
  })
  await Promise.race([
    until(() => /listening on (http:\/\/\S+)/.test(stdout()), "the server to listen", 90_000),
    done.then((ran) => Promise.reject(new Error(`facedet serve exited early: ${ran.stderr}`)))
  ])
  baseUrl = /listening on (http:\/\/\S+)/.exec(stdout())![1]!
  serve = { child: child!, done, stdout }
}, 120_000)

afterAll(async () => {
  media?.close()
  if (serve && serve.child.exitCode === null) serve.child.kill("SIGINT")
  if (serve) await serve.done
  rmSync(work, { recursive: true, force: true })
})

describe.concurrent("against the self-hosted server", () => {
  it("detects the faces in a photo URL, lists them with box and score, and saves the crops", async ({ expect }) => {
    const out = join(work, "faces-of-1")
    const ran = await runCli(["detect", `${mediaUrl}/sample1.jpg`, "--out", out], { env: env() })
    expect(ran.stderr).not.toContain("error")
    expect(ran.code, ran.stderr).toBe(0)
    const lines = ran.stdout.trim().split("\n")
    const count = Number(/succeeded: (\d+) faces?$/.exec(lines[0]!)?.[1])
    expect(count).toBeGreaterThan(0)
    expect(lines[1]).toMatch(/^detect_id [A-Za-z0-9]{11} {2}valid until /)
    expect(lines.slice(2)).toHaveLength(count)
    for (const [i, line] of lines.slice(2).entries()) {
      expect(line).toMatch(
        new RegExp(`^face ${i} {2}http://\\S+ {2}box [\\d.]+,[\\d.]+,[\\d.]+,[\\d.]+ {2}score 0\\.\\d\\d$`)
      )
    }
    expect(readdirSync(out).sort()).toEqual(
      lines
        .slice(2)
        .map((_, i) => `face-${i}.jpg`)
        .sort()
    )
    expect(ran.stderr).toContain(`saved ${count} face crop`)
  })

  it("uploads a local file and detects it", async ({ expect }) => {
    const ran = await runCli(["detect", samplePhoto(2), "--json"], { env: env() })
    expect(ran.code, ran.stderr).toBe(0)
    const data = DetectTask.ResultData.parse(JSON.parse(ran.stdout))
    expect(data.status).toBe("succeeded")
    expect(data.result?.faces.length).toBeGreaterThan(0)
    expect(data.result?.faces[0]?.box).toHaveLength(4)
  })

  it("--no-wait, then result --wait --json, then faces download", async ({ expect }) => {
    const created = await runCli(["detect", `${mediaUrl}/sample3.jpg`, "--no-wait"], { env: env() })
    expect(created.code).toBe(0)
    const id = created.stdout.trim()
    expect(id).toMatch(TaskId.detectTaskIdPattern)

    const waited = await runCli(["result", id, "--wait", "--json"], { env: env() })
    expect(waited.code).toBe(0)
    const data = DetectTask.ResultData.parse(JSON.parse(waited.stdout))
    expect(data).toMatchObject({ detect_task_id: id, status: "succeeded", result: { status: "succeed" } })

    const out = join(work, "faces-of-3")
    const saved = await runCli(["faces", "download", id, "--out", out], { env: env() })
    expect(saved.code).toBe(0)
    const files = readdirSync(out).sort()
    expect(files).toEqual(data.result!.faces.map((f) => `face-${f.id}.jpg`).sort())
    for (const file of files) expect([...readFileSync(join(out, file)).subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff])
  }, 120_000)

  it("a photo without a face is a failed task with crun.ai's code", async ({ expect }) => {
    const ran = await runCli(["detect", join(work, "blank.png")], { env: env() })
    expect(ran.code, ran.stderr).toBe(6)
    expect(ran.stderr).toContain("FaceSwap.Detect.Failed")
  })
})

describe.concurrent("--local", () => {
  it("detects on this machine and prints the wire's data shape, with crops as file:// links", async ({ expect }) => {
    const out = join(work, "local-crops")
    const ran = await runCli(["detect", samplePhoto(1), "--local", "--json", "--out", out])
    expect(ran.stderr).not.toContain("error")
    expect(ran.code, ran.stderr).toBe(0)
    const data = DetectTask.ResultData.parse(JSON.parse(ran.stdout))
    expect(data.detect_task_id).toMatch(TaskId.detectTaskIdPattern)
    expect(data).toMatchObject({
      status: "succeeded",
      error: null,
      result: { status: "succeed", type: "face_detect", hair_id: null, error: null }
    })
    expect(data.result?.id).toMatch(TaskId.detectIdPattern)
    expect(data.result?.started_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)
    const faces = data.result!.faces
    expect(faces.length).toBeGreaterThan(0)
    for (const face of faces) {
      expect(face.link).toBe(`file://${join(out, `face-${face.id}.jpg`)}`)
      expect([...readFileSync(fileURLToPath(face.link)).subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff])
      expect(face.score).toBeGreaterThan(0.5)
      expect(Object.keys(face.landmarks ?? {})).toContain("right_eye")
      expect(face.embedding).toBeUndefined()
    }
  })

  it("--embeddings adds each face's 128 numbers, locally and from a facedet server", async ({ expect }) => {
    const ran = await runCli(["detect", samplePhoto(4), "--local", "--json", "--embeddings"])
    expect(ran.code, ran.stderr).toBe(0)
    const faces = DetectTask.ResultData.parse(JSON.parse(ran.stdout)).result!.faces
    expect(faces).toHaveLength(4)
    expect(faces.every((f) => f.embedding?.length === 128)).toBe(true)
    const remote = await runCli(["detect", `${mediaUrl}/sample4.jpg`, "--json", "--embeddings"], { env: env() })
    expect(remote.code, remote.stderr).toBe(0)
    const served = DetectTask.ResultData.parse(JSON.parse(remote.stdout)).result!.faces
    expect(served).toHaveLength(4)
    expect(served.every((f) => f.embedding?.length === 128)).toBe(true)
    // The same photo, the same model: each face's embedding matches the local one's (to its rounding).
    for (const [i, f] of served.entries()) {
      const distance = Math.hypot(...f.embedding!.map((v, k) => v - faces[i]!.embedding![k]!))
      expect(distance).toBeLessThan(0.01)
    }
  })

  it("downloads a URL itself, and a photo without a face fails like on a server", async ({ expect }) => {
    const ran = await runCli(["detect", `${mediaUrl}/sample4.jpg`, "--local"])
    expect(ran.code, ran.stderr).toBe(0)
    expect(ran.stdout).toMatch(/detect_id [A-Za-z0-9]{11} {2}\(local detection/)
    const none = await runCli(["detect", join(work, "blank.png"), "--local", "--json"])
    expect(none.code).toBe(6)
    expect(JSON.parse(none.stdout)).toMatchObject({ status: "failed", error: { code: "FaceSwap.Detect.Failed" } })
  })
})

describe("facedet serve", () => {
  it("drains and exits 0 on Ctrl-C", async ({ expect }) => {
    serve.child.kill("SIGINT")
    const ran = await serve.done
    expect(ran.code, ran.stderr).toBe(0)
    expect(ran.stderr).toContain("draining")
  })
})
