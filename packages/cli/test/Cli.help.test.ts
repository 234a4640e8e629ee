/**
 * `--help` of every command as a user sees it in a pipe (no colours), compared with the checked-in snapshots;
 * `--version` and shell completions. The root help, the version and completions go through the built executable;
 * the sub-command helps run `Cli.run` in-process (the same code, minus the process start-up).
 */
import { readFileSync } from "node:fs"
import { describe, it } from "vitest"
import { inProcess } from "./helpers/inProcess.js"
import { runCli } from "./helpers/runCli.js"

const version = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
  .version

// The version line changes with every release; the rest is the contract.
const stable = (text: string) => text.replace(`facedet ${version}`, "facedet <version>")

describe.concurrent("the command line", () => {
  it("--help of facedet, from the executable", async ({ expect }) => {
    const ran = await runCli(["--help"])
    expect(ran.code, ran.stderr).toBe(0)
    expect(ran.stdout).not.toContain("\x1b[")
    await expect(stable(ran.stdout)).toMatchFileSnapshot("./__snapshots__/help-facedet.txt")
  })

  it.for<[string, Array<string>]>([
    ["detect", ["detect"]],
    ["result", ["result"]],
    ["serve", ["serve"]],
    ["faces-download", ["faces", "download"]],
    ["db-migrate", ["db", "migrate"]]
  ])("--help of %s", async ([name, command], { expect }) => {
    const ran = await inProcess([...command, "--help"])
    expect(ran.code, ran.stderr).toBe(0)
    expect(ran.stdout).not.toContain("\x1b[")
    await expect(stable(ran.stdout)).toMatchFileSnapshot(`./__snapshots__/help-${name}.txt`)
  })

  it("usage errors print the problem on stderr and exit 2", async ({ expect }) => {
    const ran = await inProcess(["detect", "--timeout", "soon", "https://x/a.jpg"])
    expect(ran.code, ran.stderr).toBe(2)
    expect(ran.stderr).toContain('--timeout: "soon" is not a duration')
    expect((await inProcess(["detect", "--video", "--image", "https://x/a.jpg"])).stderr).toContain(
      "--video and --image cannot be used together"
    )
  })

  it("--version prints the package version", async ({ expect }) => {
    const ran = await runCli(["--version"])
    expect(ran.code, ran.stderr).toBe(0)
    expect(ran.stdout.trim()).toBe(version)
  })

  it("--completions bash completes every command", async ({ expect }) => {
    const ran = await runCli(["--completions", "bash"])
    expect(ran.code, ran.stderr).toBe(0)
    for (const word of ["detect", "result", "serve", "download", "--no-wait", "--base-url"]) {
      expect(ran.stdout).toContain(word)
    }
  })
})
