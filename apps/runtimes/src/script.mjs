/**
 * What the install-level scripts (packed-install, container) share: their console, a command runner that stops the
 * script on the first failure, and the workspace's packages packed as a registry would serve them.
 */
import { spawnSync } from "node:child_process"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** The repository's root. */
export const root = fileURLToPath(new URL("../../../", import.meta.url))

/**
 * `say` prints a step; `fail` prints the failure, runs `cleanup` and exits 1; `sh` runs a command and returns its
 * result, failing the script on a non-zero exit unless `allowFailure` is set.
 */
export const script = (name, cleanup = () => undefined) => {
  const say = (message) => console.log(`${name}: ${message}`)
  const fail = (message) => {
    console.error(`${name}: FAILED: ${message}`)
    cleanup()
    process.exit(1)
  }
  const sh = (command, args, options = {}) => {
    const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, ...options })
    if (result.status !== 0 && !options.allowFailure) {
      fail(`${command} ${args.join(" ")} exited ${result.status}\n${result.stdout ?? ""}\n${result.stderr ?? ""}`)
    }
    return result
  }
  return { say, fail, sh }
}

/** Builds the workspace, then `pnpm pack`s each of `packages` (folder names) into `destination`. */
export const pack = (sh, packages, destination) => {
  // pnpm as it was started (corepack or a global install); `corepack pnpm` otherwise.
  const pnpm = process.env.npm_execpath?.includes("pnpm")
    ? [process.execPath, process.env.npm_execpath]
    : ["corepack", "pnpm"]
  sh(process.execPath, [join(root, "scripts", "turbo.mjs"), "run", "build", "--output-logs=errors-only"], { cwd: root })
  for (const name of packages) {
    sh(pnpm[0], [...pnpm.slice(1), "pack", "--pack-destination", destination], { cwd: join(root, "packages", name) })
  }
}
