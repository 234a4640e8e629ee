#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=100
/**
 * The `facedet` executable: the composition root. Node's file system and terminal, Node's built-in `fetch` as the
 * HTTP client (a one-shot command gains nothing from an undici agent of its own, and loading one costs start-up
 * time), the real stdout/stderr, logs (`--log-level`) on stderr so stdout carries results only, and the exit code
 * of the command line (see `ExitCode`).
 *
 * The line above runs node with `facedet-server`'s garbage-collection options (its README, "Per-task cost: memory
 * under load"), so `facedet serve` holds the same memory as `facedet-server`; a local detection keeps its CPU time and
 * peaks lower too (the 20 s bench clip: 354-370 MB instead of 412-418, a 3000x2000 photo 252-258 instead of 279-283).
 * npm's links and pnpm's shims pass them on; `node dist/bin.js` run by hand does not.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Cli from "./Cli.js"
import * as ExitCode from "./ExitCode.js"
import * as Output from "./Output.js"

// NO_COLOR counts only when set to something (https://no-color.org): an empty value leaves colours on.
const noColor = (process.env.NO_COLOR ?? "") !== ""
const plainText = !process.stdout.isTTY || noColor
const logger = Logger.replace(
  Logger.defaultLogger,
  Logger.prettyLogger({ stderr: true, colors: process.stderr.isTTY === true && !noColor })
)

Cli.run(process.argv, { plainText }).pipe(
  Effect.provide(Layer.mergeAll(NodeContext.layer, FetchHttpClient.layer, Output.layer, logger)),
  NodeRuntime.runMain({
    disablePrettyLogger: true,
    disableErrorReporting: true,
    teardown: (exit, onExit) => onExit(ExitCode.ofExit(exit, process.exitCode as number | undefined))
  })
)
