import { spawn } from "node:child_process"
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Processes from "@facedet/testkit/Processes"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Spawner from "../src/internal/spawner.js"

const drain = async (started: Spawner.Started) => {
  let bytes = 0
  const chunks: Array<Buffer> = []
  for await (const chunk of started.stdout as AsyncIterable<Buffer>) {
    bytes += chunk.length
    if (chunks.length < 4) chunks.push(chunk)
  }
  return { bytes, head: Buffer.concat(chunks).toString("utf8").slice(0, 64), exit: await started.exited }
}

// `$PPID` in the started shell: the helper when it forks, this process when we start it directly.
const parentOf = (started: Spawner.Started) => Number(/ppid=(\d+)/.exec(started.stderr())?.[1])

/** Live processes named `name` whose parent is `parent`. */
const childrenNamed = (parent: number, name: string): Array<number> =>
  [...Processes.processTable()].flatMap(([pid, p]) =>
    p.name === name && p.state !== "Z" && p.ppid === parent ? [pid] : []
  )

const until = async (check: () => boolean, ms: number) => {
  for (const end = Date.now() + ms; !check() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20))
  return check()
}

describe("the ffmpeg spawner", () => {
  afterAll(() => Spawner.stopHelper())

  it("starts a process from the helper: its output reaches us whole, stderr and exit code come back", async () => {
    const started = await Spawner.startProcess("/bin/sh", [
      "-c",
      "echo ppid=$PPID >&2; head -c 3000000 /dev/zero; echo warning >&2; exit 3"
    ])
    const { bytes, exit } = await drain(started)
    expect(bytes).toBe(3_000_000)
    expect(exit).toEqual({ code: 3 })
    expect(started.stderr()).toMatch(/warning/)
    expect(parentOf(started)).toBe(Spawner.helperPid())
    expect(Spawner.helperPid()).not.toBe(process.pid)
  })

  it("can start the helper ahead of the first run, once", async () => {
    Spawner.stopHelper()
    Spawner.prestart()
    const pid = Spawner.helperPid()
    expect(pid).toBeDefined()
    Spawner.prestart()
    expect(Spawner.helperPid()).toBe(pid)
    const started = await Spawner.startProcess("/bin/sh", ["-c", "echo ppid=$PPID >&2; echo ok"])
    expect((await drain(started)).head).toBe("ok\n")
    expect(parentOf(started)).toBe(pid)
    Spawner.stopHelper()
    Spawner.prestart({ FACEDET_FFMPEG_HELPER: "off" })
    expect(Spawner.helperPid()).toBeUndefined()
  })

  it("keeps concurrent runs apart", async () => {
    const runs = await Promise.all(
      [1, 2, 3, 4].map((n) => Spawner.startProcess("/bin/sh", ["-c", `yes run-${n} | head -c ${n * 100_000}`]))
    )
    const results = await Promise.all(runs.map(drain))
    results.forEach((r, i) => {
      expect(r.bytes).toBe((i + 1) * 100_000)
      expect(r.head.startsWith(`run-${i + 1}\n`)).toBe(true)
      expect(r.exit.code).toBe(0)
    })
  })

  it("reports a binary that cannot start as code -1 with the reason", async () => {
    const started = await Spawner.startProcess("/nonexistent/ffmpeg", ["-version"])
    const { bytes, exit } = await drain(started)
    expect(bytes).toBe(0)
    expect(exit.code).toBe(-1)
    expect(exit.error).toMatch(/ENOENT/)
  })

  it("kills a process on request", async () => {
    const started = await Spawner.startProcess("/bin/sh", ["-c", "echo ppid=$PPID >&2; exec sleep 30"])
    setTimeout(started.kill, 100)
    const { exit } = await drain(started)
    expect(exit.code).toBeNull()
    // At once: the kill may reach the helper before the process has started; it is kept until then.
    const early = await Spawner.startProcess("/bin/sh", ["-c", "exec sleep 30"])
    early.kill()
    expect((await drain(early)).exit.code).toBeNull()
  })

  it("fails the runs of a helper that dies, and starts a new helper for the next", async () => {
    const started = await Spawner.startProcess("/bin/sh", ["-c", "echo ppid=$PPID >&2; exec sleep 30"])
    // Running (its stderr came back), so the helper's death, not a missing process, ends it.
    while (!started.stderr().includes("ppid=")) await new Promise((r) => setTimeout(r, 10))
    const first = Spawner.helperPid()!
    process.kill(first, "SIGKILL")
    // Our end of its output is closed, so the orphan dies on its next write; reading fails with the reason.
    await expect(drain(started)).rejects.toThrow(/helper exited/)
    expect(await started.exited).toEqual({ code: -1, error: "the ffmpeg helper exited (SIGKILL)" })
    const next = await Spawner.startProcess("/bin/sh", ["-c", "echo ppid=$PPID >&2; echo ok"])
    expect((await drain(next)).head).toBe("ok\n")
    expect(Spawner.helperPid()).not.toBe(first)
    expect(parentOf(next)).toBe(Spawner.helperPid())
  })

  it("ends what the helper started, and its sockets' directory, when its parent is killed with SIGKILL", async () => {
    // A parent of its own that speaks the helper's protocol (the test cannot kill itself): it asks the real helper
    // program for a `sleep`, then waits to be killed.
    const dir = mkdtempSync(join(tmpdir(), "facedet-spawner-test-"))
    const parent = spawn(
      process.execPath,
      [
        "-e",
        `const { spawn } = require("node:child_process")
         const { createServer } = require("node:net")
         const helper = spawn(process.execPath, ["-e", process.env.HELPER], { stdio: ["ignore", "ignore", "ignore", "ipc"] })
         const server = createServer((socket) => { socket.resume(); console.log("helper=" + helper.pid) })
         server.listen(process.env.SOCKET, () => helper.send({ id: 1, binary: "sleep", args: ["300"], socket: process.env.SOCKET }))`
      ],
      {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, HELPER: Spawner.helperSource, SOCKET: join(dir, "s"), FACEDET_SPAWN_DIR: dir }
      }
    )
    const helper = await new Promise<number>((resolve) =>
      parent.stdout.on("data", (b: Buffer) => resolve(Number(/helper=(\d+)/.exec(b.toString())?.[1])))
    )
    expect(await until(() => childrenNamed(helper, "sleep").length === 1, 5_000)).toBe(true)
    const [sleep] = childrenNamed(helper, "sleep")
    parent.kill("SIGKILL")
    // The helper's channel closes with its parent: it kills the sleep and exits.
    expect(await until(() => childrenNamed(helper, "sleep").length === 0, 5_000)).toBe(true)
    expect(await until(() => !Processes.processTable().has(helper), 5_000)).toBe(true)
    expect(await until(() => !Processes.processTable().has(sleep!), 5_000)).toBe(true)
    // The sockets' directory goes with it.
    expect(existsSync(dir)).toBe(false)
  })

  it("starts processes directly when the helper cannot start, and stops trying it", async () => {
    Spawner.stopHelper()
    Spawner.setHelperCommandForTests([process.execPath, "-e", "process.exit(3)"])
    try {
      for (let i = 0; i < 2; i++) {
        const started = await Spawner.startProcess("/bin/sh", ["-c", "echo ppid=$PPID >&2; echo ok"])
        expect((await drain(started)).head).toBe("ok\n")
        expect(parentOf(started)).toBe(process.pid)
        expect(Spawner.helperPid()).toBeUndefined()
      }
    } finally {
      Spawner.setHelperCommandForTests()
    }
    const next = await Spawner.startProcess("/bin/sh", ["-c", "echo ppid=$PPID >&2; echo ok"])
    expect((await drain(next)).head).toBe("ok\n")
    expect(parentOf(next)).toBe(Spawner.helperPid())
  })

  it("starts the process directly with FACEDET_FFMPEG_HELPER=0 (or off)", async () => {
    for (const value of ["0", "off"]) {
      const started = await Spawner.startProcess("/bin/sh", ["-c", "echo ppid=$PPID >&2; echo ok"], {
        FACEDET_FFMPEG_HELPER: value
      })
      expect((await drain(started)).head).toBe("ok\n")
      expect(parentOf(started)).toBe(process.pid)
    }
  })
})
