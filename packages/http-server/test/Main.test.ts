/** The `facedet-server` command line, run as a user would (a child process). */
import { spawnSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { tempDir } from "@facedet/testkit/Files"

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

  it("a bad or unreachable --database-url fails at start without showing its password; --role needs a database", () => {
    const dir = tempDir("facedet-main-")
    const unreachable = run("--port", "0", "--data-dir", dir, "--database-url", "postgres://u:s3cret-pw@127.0.0.1:1/x")
    expect(unreachable.status).toBe(1)
    expect(unreachable.stderr).toContain("cannot connect to PostgreSQL at postgres://u:***@127.0.0.1:1/x")
    expect(unreachable.stderr + unreachable.stdout).not.toContain("s3cret-pw")
    const bad = run("--port", "0", "--data-dir", dir, "--database-url", "postgres://u:s3cret-pw@127.0.0.1:5432")
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain("--database-url: no database name in postgres://u:***@127.0.0.1:5432")
    expect(bad.stderr).not.toContain("s3cret-pw")
    const role = run("--port", "0", "--data-dir", dir, "--role", "worker")
    expect(role.status).toBe(2)
    expect(role.stderr).toContain("--role: --role worker shares the queue with other processes")
    expect(run("--port", "0", "--data-dir", dir, "--role", "boss").stderr).toContain(
      '--role: expected all, api or worker, got "boss"'
    )
  }, 60_000)

  it("on SQLite, loads none of PostgreSQL's modules (pg, @effect/sql and what they pull in)", () => {
    // A resolve hook that names every module the process loads.
    const dir = tempDir("facedet-modules-")
    const hooks = join(dir, "hooks.mjs")
    writeFileSync(
      hooks,
      'export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write("module " + r.url + "\\n"); return r }\n'
    )
    const register = join(dir, "register.mjs")
    writeFileSync(register, `import { register } from "node:module"; register(${JSON.stringify(`file://${hooks}`)})\n`)
    const r = spawnSync(process.execPath, ["--import", register, "--import", "tsx", main, "--version"], {
      cwd,
      encoding: "utf8",
      timeout: 30_000
    })
    expect(r.status).toBe(0)
    const modules = r.stderr.split("\n").filter((l) => l.startsWith("module "))
    // The hook works: the server's own modules and the detector's are there.
    expect(modules.some((m) => m.includes("/src/Server.ts"))).toBe(true)
    expect(modules.some((m) => /detector\/(src|dist)\/FaceDetector/.test(m))).toBe(true)
    expect(modules.filter((m) => /node_modules\/(pg|@effect\/sql|@effect\/sql-pg|fast-check)\//.test(m))).toEqual([])
  }, 60_000)
})
