/**
 * `facedet db migrate`: applies the PostgreSQL schema's pending migrations on their own, for operators who migrate
 * before starting (or upgrading) the server processes. The servers also migrate at start, under the same advisory
 * lock, so running both is safe. `--dry-run` lists what would be applied and changes nothing.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { MigrateFailed } from "./CliError.js"
import * as Optional from "./internal/optional.js"
import type { Reported } from "./internal/report.js"
import { report } from "./internal/report.js"
import { Output } from "./Output.js"

/**
 * The flags of `facedet db migrate`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Args {
  /** `--database-url`, else `FACEDET_DATABASE_URL`. */
  readonly databaseUrl: string | undefined
  readonly dryRun: boolean
}

/**
 * Migrates (or reports what it would migrate), printing one line per migration.
 *
 * @since 0.1.0
 * @category Handlers
 */
export const migrate = (args: Args): Effect.Effect<void, Reported, Output> =>
  Effect.gen(function* () {
    const output = yield* Output
    const url = args.databaseUrl ?? process.env.FACEDET_DATABASE_URL
    if (url === undefined || url.trim() === "") {
      return yield* new MigrateFailed({
        reason: "configuration",
        message: "no database: pass --database-url or set FACEDET_DATABASE_URL"
      })
    }
    const { PgSchema, Postgres } = yield* Optional.load(
      "@facedet/http-server",
      "facedet db migrate",
      () => import("@facedet/http-server")
    )
    const migrated = yield* PgSchema.migrateUrl(url.trim(), { dryRun: args.dryRun }).pipe(
      Effect.mapError(
        (e) =>
          new MigrateFailed({
            reason:
              e._tag === "DatabaseUrlInvalid"
                ? "configuration"
                : e._tag === "DatabaseUnreachable"
                  ? "unreachable"
                  : Postgres.isUnavailable(e)
                    ? "unreachable"
                    : "failed",
            message: `cannot migrate: ${e.message}`,
            cause: e
          })
      )
    )
    const where = Postgres.redact(url.trim())
    const newest = PgSchema.migrations[PgSchema.migrations.length - 1]!.version
    if (migrated.applied.length === 0) {
      return yield* output.out(`${where}: the schema is up to date (version ${newest})`)
    }
    for (const m of migrated.applied) {
      yield* output.out(`${args.dryRun ? "would apply" : "applied"} ${m.version}: ${m.name}`)
    }
    yield* output.out(
      args.dryRun
        ? `${where}: ${migrated.applied.length} migration(s) pending; nothing was changed (--dry-run)`
        : `${where}: the schema is at version ${newest}`
    )
  }).pipe(report())
