/** The `facedet-server` command line, run as a user would (a child process). */
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url))
const cwd = fileURLToPath(new URL("..", import.meta.url))
const run = (...args: Array<string>) =>
  spawnSync(process.execPath, ["--import", "tsx", main, ...args], { cwd, encoding: "utf8", timeout: 30_000 })

describe("facedet-server", () => {
  it("--version prints this package's version and exits 0", () => {
    const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version: string
    }
    const r = run("--version")
    expect(r.status).toBe(0)
    expect(r.stdout).toBe(`facedet-server ${version}\n`)
  })

  it("--help mentions --version; an unknown flag is a usage error (exit 2)", () => {
    expect(run("--help").stdout).toContain("--version")
    const bad = run("--verzion")
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain("usage: facedet-server")
  })
})
