/**
 * `facedet serve`: the self-hosted server (`@facedet/http-server`) in the foreground. Flags override the
 * environment (`FACEDET_PORT`, `FACEDET_HOST`, `FACEDET_DATA_DIR`, `FACEDET_DATABASE_URL`, `FACEDET_ROLE` and every
 * other server variable); every bad
 * setting is listed at once (exit code 2). Ctrl-C or SIGTERM drains (new tasks get 455, tasks in flight get the
 * grace period) and exits 0; a second Ctrl-C exits at once.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { ServeFailed } from "./CliError.js"
import type { Reported } from "./internal/report.js"
import * as Optional from "./internal/optional.js"
import { report } from "./internal/report.js"
import { Output } from "./Output.js"

/**
 * The flags of `facedet serve`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Args {
  readonly port: number | undefined
  readonly host: string | undefined
  readonly dataDir: string | undefined
  /** `--database-url`: PostgreSQL shared by several processes. */
  readonly databaseUrl?: string | undefined
  /** `--role`: all, api or worker. */
  readonly role?: "all" | "api" | "worker" | undefined
}

/**
 * Runs the server until the process is interrupted (Ctrl-C / SIGTERM), then drains it.
 *
 * The process's runtime turns the signal into an interruption of this effect; the drain runs as the
 * interruption's finalizer, and the exit code is set to 0 because stopping is what the user asked for.
 *
 * @since 0.1.0
 * @category Handlers
 */
export const run = (args: Args): Effect.Effect<void, Reported, Output> =>
  Effect.gen(function* () {
    const output = yield* Output
    // Loaded only here: the server brings SQLite, the detector and its native runtimes.
    const { Server, ServerConfig } = yield* Optional.load(
      "@facedet/http-server",
      "facedet serve",
      () => import("@facedet/http-server")
    )
    // Read through Effect's Config, like every other setting of the server, the detector and the fetcher.
    const config = yield* Effect.either(
      ServerConfig.load(args, {
        port: "--port",
        host: "--host",
        dataDir: "--data-dir",
        databaseUrl: "--database-url",
        role: "--role"
      })
    )
    if (Either.isLeft(config)) {
      return yield* new ServeFailed({ configuration: true, message: config.left.message, cause: config.left })
    }
    const settings = config.right
    yield* Server.serve(settings, {
      log: (line) => Effect.runSync(output.err(line)),
      onReady: (server) =>
        Effect.zipRight(
          output.out(Server.banner(server, settings)),
          output.err("press Ctrl-C to stop (tasks in flight get time to finish; Ctrl-C again to stop now)")
        )
    }).pipe(
      // Stopping is what the user asks for with Ctrl-C: the drain that follows ends with exit code 0.
      Effect.onInterrupt(() =>
        Effect.sync(() => {
          process.exitCode = 0
        })
      ),
      Effect.mapError(
        (error) =>
          new ServeFailed({
            configuration: Server.isConfigurationError(error),
            message: `cannot start the server: ${Server.describeStartError(error)}`,
            cause: error
          })
      )
    )
  }).pipe(report())
