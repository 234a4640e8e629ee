/**
 * Server processes for tests: `facedet-server` run from source as a child process, with the test key and a small
 * detector, its output kept for failure messages.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { testKey } from "./support.js"

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url))
const cwd = fileURLToPath(new URL("..", import.meta.url))

export interface Child {
  readonly process: ChildProcess
  readonly url: Promise<string>
  readonly exit: Promise<number | null>
  readonly output: () => string
}

/** Starts `facedet-server` (its source, through tsx) as a child process with `args`; `url` resolves once it listens. */
export const spawnServer = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Child => {
  const child = spawn(process.execPath, ["--import", "tsx", main, ...args], {
    cwd,
    env: {
      ...process.env,
      FACEDET_API_KEYS: testKey,
      FACEDET_ALLOW_PRIVATE_URLS: "true",
      FACEDET_WORKERS: "2",
      FACEDET_DETECTOR_SESSIONS: "1",
      ...env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const url = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const m = /listening on (http:\/\/\S+)/.exec(output)
      if (m) resolve(m[1]!)
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.once("exit", (code) => reject(new Error(`server exited (${code}) before listening:\n${output}`)))
  })
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  return { process: child, url, exit, output: () => output }
}
