/**
 * Starts a real `facedet-server` process on 127.0.0.1 with an ephemeral port and a fresh data directory, and reads
 * its URL and generated API key from the banner, as a user would. Shared by the runtime tests and the
 * packed-install test (which starts the `facedet-server` that npm installed).
 */
import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** The API key a server's banner shows once, in `text` (its output or log), if there. */
export const bannerKey = (text) => /generated an API key[^\n]*\n\s+(\S+)/.exec(text)?.[1]

/**
 * @param {string} command the executable (`node`, `npx`)
 * @param {ReadonlyArray<string>} args its arguments (the server's entry point, `--no facedet-server`)
 * @param {{ cwd?: string, env?: Record<string, string>, timeoutMs?: number }} options
 *
 * The server runs in its own process group, and `stop` sends SIGTERM to the whole group: `npx` does not pass the
 * signal on to the command it started. `stop` resolves with the exit code of `command` once every process of the
 * group is gone.
 * @returns {Promise<{ url: string, key: string, output: () => string, stop: () => Promise<number | null> }>}
 */
export const startServer = (command, args, options = {}) =>
  new Promise((resolve, reject) => {
    const dataDir = mkdtempSync(join(tmpdir(), "facedet-runtimes-data-"))
    const env = { ...process.env }
    // A key list from the caller's shell would stop the server from generating the key read below.
    delete env.FACEDET_API_KEYS
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...env, FACEDET_PORT: "0", FACEDET_HOST: "127.0.0.1", FACEDET_DATA_DIR: dataDir, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true
    })
    let output = ""
    let settled = false
    const exited = new Promise((done) => child.once("exit", (code) => done(code)))
    const timer = setTimeout(
      () => fail(new Error("the server did not print its URL and key in time")),
      options.timeoutMs ?? 60_000
    )
    const signal = (name) => {
      try {
        process.kill(-child.pid, name)
      } catch {
        // The group is already gone.
      }
    }
    const groupAlive = () => {
      try {
        process.kill(-child.pid, 0)
        return true
      } catch {
        return false
      }
    }
    const fail = (error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal("SIGKILL")
      reject(new Error(`${error.message}\n--- server output ---\n${output}`))
    }
    const onData = (chunk) => {
      output += chunk
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1]
      const key = bannerKey(output)
      if (settled || url === undefined || key === undefined) return
      settled = true
      clearTimeout(timer)
      resolve({
        url,
        key,
        output: () => output,
        stop: async () => {
          signal("SIGTERM")
          const code = await exited
          for (let i = 0; i < 300 && groupAlive(); i++) await new Promise((done) => setTimeout(done, 100))
          if (groupAlive()) {
            signal("SIGKILL")
            throw new Error(`the server's processes outlived SIGTERM by 30 s\n${output}`)
          }
          return code
        }
      })
    }
    child.stdout.setEncoding("utf8").on("data", onData)
    child.stderr.setEncoding("utf8").on("data", onData)
    child.once("error", fail)
    child.once("exit", (code) => fail(new Error(`the server exited with code ${code} before it was ready`)))
  })
