/**
 * The `facedet` command line: commands, flags and environment variables (with `@effect/cli`, which also gives
 * `--help` on every command, `--version` and `--completions bash|zsh|fish`), and {@link run}, which turns a
 * command line into an exit code.
 *
 * @since 0.1.0
 */
import { createRequire } from "node:module"
import * as Args from "@effect/cli/Args"
import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Endpoints from "@facedet/core/Endpoints"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as DbCommand from "./DbCommand.js"
import type * as DetectCommand from "./DetectCommand.js"
import * as Ansi from "./internal/ansi.js"
import * as HelpText from "./internal/helpText.js"
import * as ExitCode from "./ExitCode.js"
import type * as FacesCommand from "./FacesCommand.js"
import * as HumanDuration from "./HumanDuration.js"
import { describeDefect } from "./internal/defect.js"
import type { Output } from "./Output.js"
import type * as ResultCommand from "./ResultCommand.js"
import type * as ServeCommand from "./ServeCommand.js"
import type { Target } from "./Target.js"

// Each command's module (and what it brings: the client, the detector, the server) is loaded when that command
// runs, so `--help`, `--version` and completions start fast.
const lazily = <M, A, E, R>(
  load: () => Promise<M>,
  run: (module: M) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => Effect.flatMap(Effect.promise(load), run)
const detectModule = (): Promise<typeof DetectCommand> => import("./DetectCommand.js")
const resultModule = (): Promise<typeof ResultCommand> => import("./ResultCommand.js")
const serveModule = (): Promise<typeof ServeCommand> => import("./ServeCommand.js")
const dbModule = (): Promise<typeof DbCommand> => import("./DbCommand.js")
const facesModule = (): Promise<typeof FacesCommand> => import("./FacesCommand.js")

/**
 * This package's version (from its package.json, which every install ships).
 *
 * @since 0.1.0
 * @category Constants
 */
export const version: string = (createRequire(import.meta.url)("../package.json") as { version: string }).version

// ---------------------------------------------------------------------------------------------------------------
// Shared options
// ---------------------------------------------------------------------------------------------------------------

const baseUrl = Options.text("base-url").pipe(
  Options.withPseudoName("URL"),
  Options.withDescription(
    `The API to talk to: crun.ai, or a facedet server such as http://127.0.0.1:8080. Default ${Endpoints.defaultBaseUrl}; environment: FACEDET_BASE_URL.`
  ),
  Options.withFallbackConfig(Config.string("FACEDET_BASE_URL")),
  Options.optional,
  // An empty FACEDET_BASE_URL means the default, as in the client.
  Options.map((url) =>
    Option.getOrElse(
      Option.filter(url, (u) => u.trim() !== ""),
      () => Endpoints.defaultBaseUrl
    )
  )
)

const apiKey = Options.redacted("api-key").pipe(
  Options.withPseudoName("KEY"),
  Options.withDescription("The API key, sent as x-api-key; environment: FACEDET_API_KEY."),
  Options.withFallbackConfig(Config.redacted("FACEDET_API_KEY")),
  Options.optional
)

const target = Options.all({ baseUrl, apiKey }).pipe(
  Options.map((t): Target => ({ baseUrl: t.baseUrl, apiKey: t.apiKey }))
)

const json = Options.boolean("json").pipe(
  Options.withDescription("Print the result's `data` object as JSON on stdout (exactly the wire's fields).")
)

const timeout = Options.text("timeout").pipe(
  Options.withPseudoName("DURATION"),
  Options.withDescription(
    "Give up waiting after this long (90s, 5m, 1h30m; 0 waits forever). Default 5m for images, 15m for videos. The task goes on server-side."
  ),
  Options.mapEffect((text) =>
    Either.match(HumanDuration.parse(text), {
      onLeft: (message) => Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--timeout: ${message}`))),
      onRight: (d) => Effect.succeed(Duration.toMillis(d) === 0 ? Duration.infinity : d)
    })
  ),
  Options.optional
)

// ---------------------------------------------------------------------------------------------------------------
// facedet detect
// ---------------------------------------------------------------------------------------------------------------

const detect = Command.make(
  "detect",
  {
    source: Args.text({ name: "url-or-path" }).pipe(
      Args.withDescription("An http(s) URL of an image or video, or a local file.")
    ),
    target,
    kind: Options.all({
      video: Options.boolean("video").pipe(
        Options.withDescription("Detect as a video (people tracked across frames), whatever the media type says.")
      ),
      image: Options.boolean("image").pipe(Options.withDescription("Detect as a still image (a GIF's first frame)."))
    }).pipe(
      Options.mapEffect(({ image, video }) =>
        video && image
          ? Effect.fail(ValidationError.invalidValue(HelpDoc.p("--video and --image cannot be used together")))
          : Effect.succeed<Option.Option<"image" | "video">>(
              video ? Option.some("video") : image ? Option.some("image") : Option.none()
            )
      )
    ),
    noWait: Options.boolean("no-wait").pipe(
      Options.withDescription("Only create the task: print its detect_task_id and exit.")
    ),
    json,
    timeout,
    local: Options.boolean("local").pipe(
      Options.withDescription("No server: run the detector on this machine and print the same result.")
    ),
    embeddings: Options.boolean("embeddings").pipe(
      Options.withDescription(
        "Add each face's embedding (128 numbers; the same person when closer than about 0.45), with --local or from a " +
          "facedet server (crun.ai does not return them)."
      )
    ),
    out: Options.directory("out").pipe(
      Options.withPseudoName("DIR"),
      Options.withDescription(
        "Save the face crops here as face-<id>.jpg (--local: default a new folder under the OS temp dir)."
      ),
      Options.optional
    ),
    callbackUrl: Options.text("callback-url").pipe(
      Options.withPseudoName("URL"),
      Options.withDescription(
        "facedet servers: POST a signed webhook (Standard Webhooks) to this http(s) URL when the task ends."
      ),
      Options.mapEffect((text) =>
        /^https?:\/\//i.test(text.trim()) && URL.canParse(text.trim())
          ? Effect.succeed(text.trim())
          : Effect.fail(
              ValidationError.invalidValue(
                HelpDoc.p(`--callback-url: expected an http(s) URL, got ${JSON.stringify(text)}`)
              )
            )
      ),
      Options.optional
    )
  },
  (a) =>
    lazily(detectModule, (DetectCommand) =>
      DetectCommand.run({
        source: a.source,
        target: a.target,
        kind: a.kind,
        wait: !a.noWait,
        json: a.json,
        timeout: a.timeout,
        local: a.local,
        outDir: a.out,
        callbackUrl: a.callbackUrl,
        embeddings: a.embeddings
      })
    )
).pipe(
  Command.withDescription(
    "Detect faces in an image or video (URL or local file) and wait for the result. A local file is uploaded to a facedet server first; crun.ai only takes URLs."
  )
)

// ---------------------------------------------------------------------------------------------------------------
// facedet result
// ---------------------------------------------------------------------------------------------------------------

const detectTaskId = Args.text({ name: "detect_task_id" }).pipe(
  Args.withDescription("The task id printed by `facedet detect`.")
)

const wait = Options.boolean("wait").pipe(Options.withDescription("Wait until the task has ended."))

const result = Command.make("result", { detectTaskId, target, wait, json, timeout }, (a) =>
  lazily(resultModule, (ResultCommand) => ResultCommand.run(a))
).pipe(Command.withDescription("Print a detection task's current result; with --wait, wait until it ends."))

// ---------------------------------------------------------------------------------------------------------------
// facedet serve
// ---------------------------------------------------------------------------------------------------------------

const databaseUrl = Options.text("database-url").pipe(
  Options.withPseudoName("URL"),
  Options.withDescription(
    "PostgreSQL shared by every facedet process (postgres://user:password@host:5432/db). Overrides FACEDET_DATABASE_URL; unset: SQLite in the data directory."
  ),
  Options.optional
)

const serve = Command.make(
  "serve",
  {
    port: Options.integer("port").pipe(
      Options.withPseudoName("N"),
      Options.withDescription("TCP port (0 picks a free one). Overrides FACEDET_PORT; default 8080."),
      Options.optional
    ),
    host: Options.text("host").pipe(
      Options.withPseudoName("ADDRESS"),
      Options.withDescription("Listen address. Overrides FACEDET_HOST; default 127.0.0.1."),
      Options.optional
    ),
    dataDir: Options.directory("data-dir").pipe(
      Options.withPseudoName("DIR"),
      Options.withDescription(
        "Where tasks, crops and uploads are kept. Overrides FACEDET_DATA_DIR; default ./.facedet."
      ),
      Options.optional
    ),
    databaseUrl,
    role: Options.choice("role", ["all", "api", "worker"]).pipe(
      Options.withDescription(
        "What this process does: all (default), api (HTTP API only) or worker (detection only). Roles other than all need --database-url. Overrides FACEDET_ROLE."
      ),
      Options.optional
    )
  },
  (a) =>
    lazily(serveModule, (ServeCommand) =>
      ServeCommand.run({
        port: Option.getOrUndefined(a.port),
        host: Option.getOrUndefined(a.host),
        dataDir: Option.getOrUndefined(a.dataDir),
        databaseUrl: Option.getOrUndefined(a.databaseUrl),
        role: Option.getOrUndefined(a.role)
      })
    )
).pipe(
  Command.withDescription(
    "Run the self-hosted facedet server in the foreground (Ctrl-C drains and stops it). Every FACEDET_* server variable applies; flags override them."
  )
)

// ---------------------------------------------------------------------------------------------------------------
// facedet db migrate
// ---------------------------------------------------------------------------------------------------------------

const dbMigrate = Command.make(
  "migrate",
  {
    databaseUrl,
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("List the pending migrations; change nothing."))
  },
  (a) =>
    lazily(dbModule, (DbCommand) =>
      DbCommand.migrate({ databaseUrl: Option.getOrUndefined(a.databaseUrl), dryRun: a.dryRun })
    )
).pipe(
  Command.withDescription(
    "Apply the PostgreSQL schema's pending migrations (servers also apply them at start, under the same lock)."
  )
)

const db = Command.make("db").pipe(
  Command.withDescription("Manage the PostgreSQL database of a multi-process server."),
  Command.withSubcommands([dbMigrate])
)

// ---------------------------------------------------------------------------------------------------------------
// facedet faces download
// ---------------------------------------------------------------------------------------------------------------

const facesDownload = Command.make(
  "download",
  {
    detectTaskId,
    target,
    out: Options.directory("out").pipe(
      Options.withPseudoName("DIR"),
      Options.withDescription("The folder to save face-<id>.jpg files in (created if needed).")
    ),
    wait: Options.boolean("wait").pipe(Options.withDescription("Wait for the task to end first.")),
    json: Options.boolean("json").pipe(Options.withDescription("Print [{ id, link, path }] as JSON on stdout.")),
    timeout
  },
  (a) =>
    lazily(facesModule, (FacesCommand) =>
      FacesCommand.download({
        detectTaskId: a.detectTaskId,
        target: a.target,
        outDir: a.out,
        wait: a.wait,
        json: a.json,
        timeout: a.timeout
      })
    )
).pipe(Command.withDescription("Save every face crop of a succeeded task as face-<id>.jpg."))

const faces = Command.make("faces").pipe(
  Command.withDescription("Work with the face crops of a detection."),
  Command.withSubcommands([facesDownload])
)

// ---------------------------------------------------------------------------------------------------------------
// facedet
// ---------------------------------------------------------------------------------------------------------------

/**
 * The whole command tree.
 *
 * @since 0.1.0
 * @category Commands
 */
export const command = Command.make("facedet").pipe(
  Command.withDescription(
    "Detect faces in images and videos with crun.ai, a self-hosted facedet server, or on this machine."
  ),
  Command.withSubcommands([detect, result, serve, faces, db])
)

/**
 * What running a command line needs.
 *
 * @since 0.1.0
 * @category Models
 */
export type Environment = CliApp.CliApp.Environment | Output | HttpClient.HttpClient | FileSystem.FileSystem

/**
 * A console that drops ANSI colours from `@effect/cli`'s help and messages (when stdout is not a terminal, or
 * `NO_COLOR` is set), so piped and captured output is plain text.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withPlainText = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Console.consoleWith((console) =>
    Console.withConsole(self, {
      ...console,
      log: (...args) => console.log(...args.map((a) => (typeof a === "string" ? Ansi.strip(a) : a))),
      error: (...args) => console.error(...args.map((a) => (typeof a === "string" ? Ansi.strip(a) : a)))
    })
  )

const commandNames: ReadonlySet<string> = new Set(["detect", "result", "serve", "faces", "download", "db", "migrate"])

/** `@effect/cli`'s help pages as `facedet` shows them (see `internal/helpText`). */
const withHelpText =
  (path: ReadonlyArray<string>) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Console.consoleWith((console) =>
      Console.withConsole(self, {
        ...console,
        log: (...args) =>
          console.log(...args.map((a) => (typeof a === "string" ? HelpText.rewrite(a, "facedet", path) : a)))
      })
    )

/**
 * Runs a command line (`process.argv`: the first two entries are node and the script) and returns its exit code
 * (see {@link ExitCode}). Every failure has been printed on stderr by then; an interruption (Ctrl-C) is left to
 * propagate so the caller's runtime can end the process with 130.
 *
 * @since 0.1.0
 * @category Running
 */
export const run = (
  argv: ReadonlyArray<string>,
  options: { readonly plainText?: boolean } = {}
): Effect.Effect<ExitCode.ExitCode, never, Environment> => {
  const path = HelpText.commandPath(argv.slice(2), commandNames)
  const program = Command.run(command, { name: "facedet", version, executable: "facedet" })(argv).pipe(
    withHelpText(path),
    Effect.as(ExitCode.ExitCode.Success as ExitCode.ExitCode),
    Effect.catchAll((error) => {
      // @effect/cli has printed its own usage errors already.
      if (ValidationError.isValidationError(error)) return Effect.succeed(ExitCode.ExitCode.Usage)
      if (error._tag === "Reported") return Effect.succeed(error.code)
      return Effect.succeed(ExitCode.ExitCode.Unexpected)
    }),
    Effect.catchAllDefect((defect) =>
      Console.error(`error: unexpected failure: ${describeDefect(defect)}`).pipe(
        Effect.as(ExitCode.ExitCode.Unexpected)
      )
    )
  )
  return options.plainText ? withPlainText(program) : program
}
