/**
 * `--help` of every command, as a user sees it in a pipe (no colours), compared with the checked-in snapshots;
 * `--version` and shell completions.
 */
import { readFileSync } from "node:fs"
import { describe, it } from "vitest"
import { runCli } from "./helpers/runCli.js"

const version = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
  .version

describe.concurrent("the command line", () => {
  it.for<[string, Array<string>]>([
    ["facedet", []],
    ["detect", ["detect"]],
    ["result", ["result"]],
    ["serve", ["serve"]],
    ["faces-download", ["faces", "download"]]
  ])("--help of %s", async ([name, command], { expect }) => {
    const ran = await runCli([...command, "--help"])
    expect(ran.code).toBe(0)
    expect(ran.stdout).not.toContain("\x1b[")
    // The version line changes with every release; the rest is the contract.
    await expect(ran.stdout.replace(`facedet ${version}`, "facedet <version>")).toMatchFileSnapshot(
      `./__snapshots__/help-${name}.txt`
    )
  })

  it("--version prints the package version", async ({ expect }) => {
    const ran = await runCli(["--version"])
    expect(ran).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(new RegExp(`^${version.replaceAll(".", "\\.")}\\n`))
    })
  })

  it("--completions bash completes every command", async ({ expect }) => {
    const ran = await runCli(["--completions", "bash"])
    expect(ran.code).toBe(0)
    for (const word of ["detect", "result", "serve", "download", "--no-wait", "--base-url"]) {
      expect(ran.stdout).toContain(word)
    }
  })
})
