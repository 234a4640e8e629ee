#!/usr/bin/env node
/**
 * The packed-install test: what a stranger gets from the registry. Every package is packed (`pnpm pack`, so
 * `workspace:` ranges become versions), then installed with plain npm into empty folders outside the workspace:
 *
 * 1. `@facedet/node-client` alone: no peer warnings; an Effect user adding `effect` still has one copy.
 * 2. `@facedet/cli` alone: `npx facedet --version`; `--local` and `serve` name the missing optional package.
 * 3. The CLI with `@facedet/detector` and `@facedet/http-server`: `npx facedet detect photo.jpg --local --json`,
 *    then `npx facedet-server`, called from a plain `.mjs` file with the Promise client.
 *
 * It prints the install sizes (node_modules, bytes on disk) and fails on the first broken step.
 * Usage: node scripts/packed-install.mjs [--keep]   (needs the registry for the third-party dependencies)
 */
import { execFileSync } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { pack, root, script } from "../src/script.mjs"
import { startServer } from "../src/server.mjs"

const here = fileURLToPath(new URL("../", import.meta.url))
const photo = join(here, "test", "group.jpg")
const keep = process.argv.includes("--keep")
const work = mkdtempSync(join(tmpdir(), "facedet-packed-"))
// The temporary files of everything below (the CLI's default output folder, the server's data) go in `work` too.
process.env.TMPDIR = join(work, "tmp")
mkdirSync(process.env.TMPDIR)
const packages = ["core", "node-client", "detector", "http-server", "cli"]
const { say: step, fail, sh } = script("packed-install", () => console.error(`packed-install: left ${work} for a look`))

step("building")
const tarballs = join(work, "tarballs")
mkdirSync(tarballs)
pack(sh, packages, tarballs)
const tarball = (name) => {
  const file = readdirSync(tarballs).find((f) => f.startsWith(`facedet-${name}-`) && f.endsWith(".tgz"))
  if (file === undefined) fail(`no tarball for @facedet/${name}`)
  return join(tarballs, file)
}
step(`packed ${readdirSync(tarballs).join(", ")}`)

/** An empty npm project outside the workspace, with `tarballs` installed by plain npm. */
const project = (name, names) => {
  const dir = join(work, name)
  mkdirSync(dir)
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: `packed-${name}`, private: true, type: "module" }))
  // The environment npm users are told to set: onnxruntime-node's install script would fetch GPU libraries.
  const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: "skip" }
  // Nothing from the workspace may leak in: no NODE_PATH, no pnpm-specific npm_config_* from a pnpm parent.
  for (const key of Object.keys(env)) if (key === "NODE_PATH" || key.startsWith("npm_")) delete env[key]
  // npx must run what npm installed here, never fetch a package of that name from the registry.
  env.npm_config_yes = "false"
  const started = Date.now()
  const installed = sh("npm", ["install", "--no-audit", "--no-fund", ...names.map(tarball)], { cwd: dir, env })
  const log = `${installed.stdout}\n${installed.stderr}`
  const warnings = log.split("\n").filter((line) => /peer|ERESOLVE|deprecated/i.test(line))
  const bytes = Number(execFileSync("du", ["-sb", join(dir, "node_modules")], { encoding: "utf8" }).split("\t")[0])
  step(
    `${name}: npm install of ${names.join(", ")}: ${(bytes / 1e6).toFixed(1)} MB in node_modules, ${((Date.now() - started) / 1000).toFixed(0)} s`
  )
  return { dir, env, warnings, bytes }
}

// 1. The Promise client alone.
const client = project("client", ["core", "node-client"])
if (client.warnings.length > 0) fail(`npm warned while installing the client:\n${client.warnings.join("\n")}`)
sh("npm", ["install", "--no-audit", "--no-fund", "effect@^3.22.4"], { cwd: client.dir, env: client.env })
const effects = sh("npm", ["ls", "effect", "--all", "--parseable"], { cwd: client.dir, env: client.env })
  .stdout.split("\n")
  .filter((line) => line.trim() !== "")
if (new Set(effects).size !== 1)
  fail(`an Effect user has ${new Set(effects).size} copies of effect:\n${effects.join("\n")}`)
step("client: no peer warnings; with the user's own effect, one copy of effect")

// 2. The CLI alone.
const cli = project("cli", ["core", "node-client", "cli"])
const version = JSON.parse(readFileSync(join(root, "packages", "cli", "package.json"), "utf8")).version
const printed = sh("npx", ["facedet", "--version"], { cwd: cli.dir, env: cli.env }).stdout.trim()
if (!printed.includes(version)) fail(`npx facedet --version printed ${printed}, not ${version}`)
for (const [args, needs] of [
  [["detect", photo, "--local"], "@facedet/detector"],
  [["serve"], "@facedet/http-server"]
]) {
  const run = sh("npx", ["facedet", ...args], { cwd: cli.dir, env: cli.env, allowFailure: true })
  if (run.status !== 2 || !run.stderr.includes(`needs ${needs}, which is not installed`)) {
    fail(`facedet ${args.join(" ")} without ${needs}: exit ${run.status}\n${run.stderr}`)
  }
}
step(`cli alone: facedet --version = ${printed}; --local and serve name the package to install`)

// 3. The CLI with local detection and the server.
const full = project("full", packages)
if (full.warnings.length > 0) fail(`npm warned while installing everything:\n${full.warnings.join("\n")}`)
cpSync(photo, join(full.dir, "photo.jpg"))
const detected = sh("npx", ["facedet", "detect", "photo.jpg", "--local", "--json"], {
  cwd: full.dir,
  env: full.env
})
const faces = JSON.parse(detected.stdout).result?.faces?.length
if (faces !== 7) fail(`facedet detect photo.jpg --local --json found ${faces} faces, not 7:\n${detected.stdout}`)
step(`full: facedet detect photo.jpg --local --json: ${faces} faces`)

const server = await startServer("npx", ["facedet-server"], { cwd: full.dir, env: full.env })
cpSync(join(here, "program"), join(full.dir, "program"), { recursive: true })
const checked = sh(process.execPath, [join(full.dir, "program", "run.mjs"), photo, server.url, server.key], {
  cwd: full.dir,
  env: full.env,
  allowFailure: true
})
const code = await server.stop()
if (checked.status !== 0) fail(`the Promise client program failed:\n${checked.stdout}\n${checked.stderr}`)
const report = JSON.parse(checked.stdout.trim().split("\n").pop())
if (report.detect?.faces !== 7 || report.badKey?.tag !== "Unauthorized" || report.abort?.reason !== "Aborted") {
  fail(`the Promise client against npx facedet-server: ${JSON.stringify(report)}`)
}
// npx itself dies of the signal (it does not pass it on; the group got it): the server's own last word tells.
if (!server.output().includes("facedet: stopped"))
  fail(`facedet-server did not drain on SIGTERM (npx: ${code})\n${server.output()}`)
step(
  `full: npx facedet-server + the Promise client from a .mjs file: ${report.detect.faces} faces, typed errors, drained on SIGTERM`
)

step(
  `install sizes: client ${(client.bytes / 1e6).toFixed(1)} MB, cli alone ${(cli.bytes / 1e6).toFixed(1)} MB, ` +
    `cli + detector + server ${(full.bytes / 1e6).toFixed(1)} MB`
)
if (!keep) rmSync(work, { recursive: true, force: true })
step("ok")
