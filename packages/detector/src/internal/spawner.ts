/**
 * Starting ffmpeg without forking this process. libuv starts a child with fork(): the kernel copies the page tables
 * of the whole process and marks every private page copy-on-write, so each thread's next write to each page of a
 * large heap traps once. Measured here (detector README): 25-30 ms to fork a 200 MB process, then 15 µs a page,
 * about 40 ms a clip on the recognition thread alone. A small Node helper, started once, forks instead of us:
 * ffmpeg writes its output straight into a Unix socket we listen on (no copy through the helper), its stderr and
 * exit come back over IPC.
 *
 * `FACEDET_FFMPEG_HELPER=0` (or `false`, `off`) starts ffmpeg directly, as do Bun, Deno and Electron; a helper that
 * ends before serving a run (it cannot start here) makes every later run start directly.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Readable } from "node:stream"

/** A started process: its output, its stderr so far, how it ended (code -1: it could not start). */
export interface Started {
  readonly stdout: Readable
  /** The last 16 KiB it wrote to stderr so far. */
  readonly stderr: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly error?: string }>
  readonly kill: () => void
}

const keep = (text: string) => text.slice(-16_384)

const direct = (binary: string, args: ReadonlyArray<string>): Started => {
  const child = spawn(binary, [...args], { stdio: ["ignore", "pipe", "pipe"] })
  const exited = new Promise<{ code: number | null; error?: string }>((resolve) => {
    let error: string | undefined
    child.on("error", (e) => {
      error = e.message
      resolve({ code: -1, error })
    })
    child.on("close", (code) => resolve(error === undefined ? { code } : { code: -1, error }))
  })
  let stderr = ""
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = keep(stderr + chunk.toString("utf8"))
  })
  return {
    stdout: child.stdout,
    stderr: () => stderr,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    }
  }
}

/**
 * The helper's program (CommonJS, run with `node -e`, so it needs no file of its own in either the sources or the
 * build). It dies with us: when the IPC channel closes it kills what it started and exits.
 */
export const helperSource = `
const { spawn } = require("node:child_process")
const { connect } = require("node:net")
const children = new Map()
// Requests not started yet (waiting for their socket), and the kills that overtook them: IPC keeps its own order,
// but the socket's connection is a separate event.
const waiting = new Set()
const killed = new Set()
const send = (message) => { if (process.connected) process.send(message) }
process.on("message", (m) => {
  if (m.kill !== undefined) {
    const c = children.get(m.kill)
    if (c !== undefined) c.kill("SIGKILL")
    else if (waiting.has(m.kill)) killed.add(m.kill)
    return
  }
  waiting.add(m.id)
  const out = connect(m.socket)
  out.on("error", (e) => {
    if (!waiting.delete(m.id)) return
    killed.delete(m.id)
    send({ id: m.id, code: -1, error: "connecting to the reader: " + e.message })
  })
  out.on("connect", () => {
    waiting.delete(m.id)
    let error
    let child
    try {
      child = spawn(m.binary, m.args, { stdio: ["ignore", out, "pipe"] })
    } catch (e) {
      out.destroy()
      send({ id: m.id, code: -1, error: String(e) })
      return
    }
    out.destroy()
    children.set(m.id, child)
    if (killed.delete(m.id)) child.kill("SIGKILL")
    child.stderr.on("data", (chunk) => send({ id: m.id, stderr: chunk.toString("utf8") }))
    child.on("error", (e) => { error = e.message })
    child.on("close", (code) => {
      children.delete(m.id)
      send(error === undefined ? { id: m.id, code } : { id: m.id, code: -1, error })
    })
  })
})
process.on("disconnect", () => {
  for (const c of children.values()) c.kill("SIGKILL")
  // The sockets' directory: its parent may have died without removing it.
  try { require("node:fs").rmSync(process.env.FACEDET_SPAWN_DIR, { recursive: true, force: true }) } catch {}
  process.exit(0)
})
`

interface Pending {
  stderr: string
  /** Our end of the process's stdout, once connected: destroyed if the helper dies, so an orphan gets EPIPE. */
  stdout: Socket | undefined
  readonly resolve: (exit: { code: number | null; error?: string }) => void
}

interface Helper {
  readonly child: ChildProcess
  readonly dir: string
  readonly removeDir: () => void
  readonly pending: Map<number, Pending>
  /** A run reached us through it: it works. */
  served: boolean
}

let helper: Helper | undefined
/** A helper ended before serving any run (it cannot start here): start ffmpeg directly from now on. */
let broken = false
let nextId = 0
/** How long a run waits for the helper to connect before it starts the process directly. */
const connectTimeoutMs = 10_000
/** How the helper is started; replaced only by tests. */
let helperCommand: ReadonlyArray<string> = [process.execPath, "-e", helperSource]

const stop = (h: Helper, why: string) => {
  if (helper === h) helper = undefined
  if (!h.served) broken = true
  for (const p of h.pending.values()) {
    p.stdout?.destroy(new Error(why))
    p.resolve({ code: -1, error: why })
  }
  h.pending.clear()
  h.removeDir()
  process.off("exit", h.removeDir)
}

const startHelper = (): Helper => {
  // mkdtemp makes the directory 0700: only this user can reach the sockets in it.
  const dir = mkdtempSync(join(tmpdir(), "facedet-ffmpeg-"))
  const child = spawn(helperCommand[0]!, helperCommand.slice(1), {
    stdio: ["ignore", "ignore", "ignore", "ipc"],
    env: { ...process.env, NODE_OPTIONS: "", FACEDET_SPAWN_DIR: dir }
  })
  const removeDir = () => rmSync(dir, { recursive: true, force: true })
  // On a normal exit we remove it (the helper's exit is not seen then); after a kill -9 the helper does.
  process.once("exit", removeDir)
  const h: Helper = { child, dir, removeDir, pending: new Map(), served: false }
  child.on("message", (m: { id: number; stderr?: string; code?: number | null; error?: string }) => {
    const p = h.pending.get(m.id)
    if (p === undefined) return
    if (m.stderr !== undefined) {
      p.stderr = keep(p.stderr + m.stderr)
      return
    }
    h.pending.delete(m.id)
    if (h.pending.size === 0) child.channel?.unref()
    p.resolve(m.error === undefined ? { code: m.code ?? null } : { code: -1, error: m.error })
  })
  child.on("error", () => stop(h, "the ffmpeg helper could not start"))
  child.on("exit", (code, signal) => stop(h, `the ffmpeg helper exited (${signal ?? code})`))
  // Neither the helper nor its channel keeps this process alive; a pending run refs the channel.
  child.unref()
  child.channel?.unref()
  return h
}

const viaHelper = (h: Helper, binary: string, args: ReadonlyArray<string>): Promise<Started> =>
  new Promise((resolve) => {
    const id = ++nextId
    const path = join(h.dir, `${id}.sock`)
    const server = createServer()
    let settle!: (exit: { code: number | null; error?: string }) => void
    const exited = new Promise<{ code: number | null; error?: string }>((r) => {
      settle = r
    })
    const pending: Pending = { stderr: "", resolve: settle, stdout: undefined }
    h.pending.set(id, pending)
    h.child.channel?.ref()
    const forget = () => {
      h.pending.delete(id)
      if (h.pending.size === 0) h.child.channel?.unref()
    }
    // Until the helper's connection is seen, a run can still fall back to starting the process directly.
    let handedOver = false
    const fallBack = () => {
      if (handedOver) return
      handedOver = true
      clearTimeout(timer)
      forget()
      if (server.listening) {
        server.close()
        rmSync(path, { force: true })
      }
      resolve(direct(binary, args))
    }
    const started = (stdout: Readable): Started => ({
      stdout,
      stderr: () => pending.stderr,
      exited,
      kill: () => {
        if (h.pending.has(id) && h.child.connected) h.child.send({ kill: id })
      }
    })
    // A socket we cannot listen on (a TMPDIR too long for a socket path, say): start this run directly.
    server.on("error", fallBack)
    server.listen(path, () => {
      h.child.send({ id, binary, args, socket: path }, (error) => {
        if (error !== null && error !== undefined) {
          forget()
          settle({ code: -1, error: error.message })
        }
      })
    })
    // A helper that does not connect in time (stuck, or a message lost): start this run directly, and have the
    // helper drop the request if it ever gets to it.
    const timer = setTimeout(() => {
      if (h.child.connected) h.child.send({ kill: id })
      fallBack()
    }, connectTimeoutMs)
    timer.unref()
    server.once("connection", (socket: Socket) => {
      handedOver = true
      clearTimeout(timer)
      server.close()
      rmSync(path, { force: true })
      pending.stdout = socket
      h.served = true
      resolve(started(socket))
    })
    // The helper died or could not connect before the process started: start it directly instead.
    // (An exit without an error means it ran: its connection is already made, only not yet seen here.)
    void exited.then((exit) => {
      if (exit.error !== undefined) fallBack()
    })
  })

const helperWanted = (env: Readonly<Record<string, string | undefined>>) =>
  !["0", "false", "off"].includes((env.FACEDET_FFMPEG_HELPER ?? "").trim().toLowerCase()) &&
  process.versions.bun === undefined &&
  process.versions.electron === undefined &&
  (globalThis as { Deno?: unknown }).Deno === undefined

/** The running helper, started if need be; undefined when it is not wanted or cannot start (runs go direct). */
const ensureHelper = (env: Readonly<Record<string, string | undefined>>): Helper | undefined => {
  if (broken || !helperWanted(env)) return undefined
  if (helper === undefined) {
    try {
      helper = startHelper()
    } catch {
      return undefined
    }
  }
  return helper
}

/**
 * Starts `binary args` with stdout and stderr piped: through the helper when it runs, directly otherwise.
 *
 * @since 0.1.0
 */
export const startProcess = async (
  binary: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>> = process.env
): Promise<Started> => {
  const h = ensureHelper(env)
  return h?.child.connected ? viaHelper(h, binary, args) : direct(binary, args)
}

/**
 * Starts the helper now rather than on the first video, when it is wanted: a long-running process that will take
 * videos forks once while it is still small, and its first video does not wait for the helper.
 *
 * @since 0.1.0
 */
export const prestart = (env: Readonly<Record<string, string | undefined>> = process.env): void => {
  ensureHelper(env)
}

/** Starts the helper with `command` from now on, and forgets a broken one (tests). */
export const setHelperCommandForTests = (command?: ReadonlyArray<string>): void => {
  helperCommand = command ?? [process.execPath, "-e", helperSource]
  broken = false
}

/** Stops the helper (tests; the helper otherwise ends with this process). */
export const stopHelper = (): void => {
  const h = helper
  if (h === undefined) return
  h.child.kill("SIGKILL")
  stop(h, "the ffmpeg helper was stopped")
}

/** The helper's pid, when it runs (tests). */
export const helperPid = (): number | undefined => helper?.child.pid
