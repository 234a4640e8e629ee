/**
 * `--help` of every command as a user sees it in a pipe (no colours), compared with the checked-in snapshots;
 * `--version` and shell completions. The root help, the version and completions go through the built executable;
 * the sub-command helps run `Cli.run` in-process (the same code, minus the process start-up).
 */
import { readFileSync } from "node:fs"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { describe, it } from "vitest"
import * as Cli from "../src/Cli.js"
import * as Output from "../src/Output.js"
import { runCli } from "./helpers/runCli.js"

const version = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
  .version

// The version line changes with every release; the rest is the contract.
const stable = (text: string) => text.replace(`facedet ${version}`, "facedet <version>")

/** Runs a command line in-process, capturing what `@effect/cli` prints. */
const inProcess = (args: ReadonlyArray<string>) => {
  const stdout: Array<string> = []
  const stderr: Array<string> = []
  const write =
    (into: Array<string>) =>
    (...parts: ReadonlyArray<unknown>) =>
      Effect.sync(() => {
        into.push(`${parts.map(String).join(" ")}\n`)
      })
  const program = Console.consoleWith((console) =>
    Cli.run(["node", "facedet", ...args], { plainText: true }).pipe(
      Effect.withConsole({ ...console, log: write(stdout), error: write(stderr) })
    )
  )
  return Effect.runPromise(
    program.pipe(Effect.provide(Layer.mergeAll(NodeContext.layer, FetchHttpClient.layer, Output.makeTest().layer)))
  ).then((code) => ({ code, stdout: stdout.join(""), stderr: stderr.join("") }))
}

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
    ["faces-download", ["faces", "download"]]
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
