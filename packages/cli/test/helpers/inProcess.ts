/**
 * Runs a command line in this process through `Cli.run`, with the executable's layers (Node's file system and
 * terminal, the `fetch` HTTP client) and only the given environment variables: much cheaper than starting the
 * built command, for behaviour that does not depend on the process itself (signals, exit, logging).
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Cli from "../../src/Cli.js"
import * as Output from "../../src/Output.js"

export interface InProcessRan {
  readonly code: number
  /** Everything written to stdout: `@effect/cli`'s help and messages, then the command's results. */
  readonly stdout: string
  readonly stderr: string
}

export const inProcess = async (
  args: ReadonlyArray<string>,
  env: Record<string, string> = {}
): Promise<InProcessRan> => {
  const console: { stdout: Array<string>; stderr: Array<string> } = { stdout: [], stderr: [] }
  const write =
    (into: Array<string>) =>
    (...parts: ReadonlyArray<unknown>) =>
      Effect.sync(() => {
        into.push(`${parts.map(String).join(" ")}\n`)
      })
  const output = Output.makeTest()
  const program = Console.consoleWith((base) =>
    Cli.run(["node", "facedet", ...args], { plainText: true }).pipe(
      Effect.withConsole({ ...base, log: write(console.stdout), error: write(console.stderr) })
    )
  )
  const code = await Effect.runPromise(
    program.pipe(
      Effect.provide(Layer.mergeAll(NodeContext.layer, FetchHttpClient.layer, output.layer)),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
    )
  )
  const lines = (chunks: ReadonlyArray<string>, captured: ReadonlyArray<string>) =>
    chunks.join("") + captured.map((line) => `${line}\n`).join("")
  return { code, stdout: lines(console.stdout, output.stdout), stderr: lines(console.stderr, output.stderr) }
}
