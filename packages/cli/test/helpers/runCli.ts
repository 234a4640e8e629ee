/**
 * Runs the built command (`dist/bin.js`) as a child process, the way a user or a script does, with a clean
 * environment (no FACEDET_* from the developer's shell) and stdout/stderr as pipes.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

export const binPath = fileURLToPath(new URL("../../dist/bin.js", import.meta.url))

export interface Ran {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface RunOptions {
  readonly env?: Record<string, string | undefined>
  /** Called once the child is running (to signal it, say). */
  readonly onSpawn?: (child: ChildProcess, output: { stdout: () => string; stderr: () => string }) => void
}

const baseEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("FACEDET_") && k !== "NO_COLOR") env[k] = v
  }
  return env
}

export const runCli = (args: ReadonlyArray<string>, options: RunOptions = {}): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...args], {
      env: { ...baseEnv(), ...options.env } as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk
    })
    child.on("error", reject)
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
    options.onSpawn?.(child, { stdout: () => stdout, stderr: () => stderr })
  })

/** Resolves when `predicate` holds on the accumulated output, polling every 20 ms. */
export const until = (predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> =>
  new Promise((resolve, reject) => {
    const started = Date.now()
    const tick = () => {
      if (predicate()) return resolve()
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`))
      setTimeout(tick, 20)
    }
    tick()
  })
