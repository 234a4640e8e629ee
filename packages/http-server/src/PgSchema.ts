/**
 * The PostgreSQL schema, as numbered migrations applied in order and recorded in `facedet_migrations`.
 *
 * Many processes may start at once against one database: `migrate` takes a transaction-level advisory lock first,
 * so one of them applies what is missing while the others wait for it and then find nothing to do. Each migration
 * runs in that same transaction (PostgreSQL's DDL is transactional), so a failed one leaves the schema as it was.
 * A migration, once released, is never edited: a change is a new migration.
 *
 * Times are epoch milliseconds (`bigint`) taken from the database's clock (`facedet_now_ms()`), so the leases of
 * several machines are judged by one clock.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Postgres from "./Postgres.js"

/**
 * A schema change.
 *
 * @since 0.1.0
 */
export interface Migration {
  readonly version: number
  readonly name: string
  readonly sql: string
}

/**
 * Every migration, oldest first.
 *
 * @since 0.1.0
 */
export const migrations: ReadonlyArray<Migration> = [
  {
    version: 1,
    name: "tasks, media, blobs, webhooks, rate limits, api keys",
    sql: `
CREATE FUNCTION facedet_now_ms() RETURNS bigint LANGUAGE sql VOLATILE
  AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;

CREATE TABLE tasks (
  seq bigserial UNIQUE,
  id text PRIMARY KEY,
  kind text NOT NULL,
  media_url text NOT NULL,
  owner text NOT NULL,
  state text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  fence integer NOT NULL DEFAULT 0,
  lease_owner text,
  lease_expires_at bigint,
  created_at bigint NOT NULL,
  started_at bigint,
  finished_at bigint,
  detect_id text,
  -- json, not jsonb: the faces come back byte for byte as written (jsonb would reorder the landmarks' keys).
  faces json,
  error_code text,
  error_message text,
  media_expires_at bigint,
  idem_key text,
  request_hash text,
  completions integer NOT NULL DEFAULT 0,
  callback_url text,
  upload_token text,
  releases integer NOT NULL DEFAULT 0,
  isolate boolean NOT NULL DEFAULT false
);
CREATE INDEX tasks_queue ON tasks (seq) WHERE state = 'queued';
CREATE INDEX tasks_owner ON tasks (state, owner);
CREATE INDEX tasks_lease ON tasks (lease_expires_at) WHERE state = 'running';
CREATE INDEX tasks_finished ON tasks (finished_at) WHERE finished_at IS NOT NULL;
CREATE UNIQUE INDEX tasks_idem ON tasks (owner, idem_key) WHERE idem_key IS NOT NULL;

CREATE TABLE media (
  token text PRIMARY KEY,
  kind text NOT NULL,
  path text NOT NULL,
  content_type text NOT NULL,
  size bigint NOT NULL,
  expires_at bigint NOT NULL,
  task_id text,
  owner text
);
CREATE INDEX media_expiry ON media (expires_at);
CREATE INDEX media_owner ON media (owner, kind) WHERE owner IS NOT NULL;
CREATE INDEX media_path ON media (path);

-- Wake-ups for other processes, sent at commit: workers listen for queued tasks, long-polls for ended ones.
CREATE FUNCTION facedet_task_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state = 'queued' AND (TG_OP = 'INSERT' OR OLD.state <> 'queued') THEN
    PERFORM pg_notify('facedet_queued', NEW.id);
  ELSIF NEW.state IN ('succeeded', 'failed') AND OLD.state NOT IN ('succeeded', 'failed') THEN
    -- " callback" tells dispatchers there is a delivery to claim; the others only wake long-polls.
    PERFORM pg_notify('facedet_ended', NEW.id || CASE WHEN NEW.callback_url IS NULL THEN '' ELSE ' callback' END);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER tasks_notify AFTER INSERT OR UPDATE OF state ON tasks
  FOR EACH ROW EXECUTE FUNCTION facedet_task_notify();

-- Files (uploads, crops, kept sources) in chunks of at most 1 MiB, so a video streams in and out in bounded memory.
CREATE TABLE blobs (
  path text PRIMARY KEY,
  size bigint NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX blobs_age ON blobs (created_at);
CREATE TABLE blob_chunks (
  path text NOT NULL REFERENCES blobs (path) ON DELETE CASCADE,
  seq integer NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (path, seq)
);

CREATE TABLE webhooks (
  id text PRIMARY KEY,
  task_id text NOT NULL UNIQUE,
  owner text NOT NULL,
  url text NOT NULL,
  state text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  last_status integer,
  last_error text,
  next_attempt_at bigint,
  lease_until bigint,
  created_at bigint NOT NULL,
  settled_at bigint,
  body text
);
CREATE INDEX webhooks_due ON webhooks (next_attempt_at) WHERE state = 'pending';

CREATE TABLE webhook_secrets (
  owner text NOT NULL,
  secret text NOT NULL,
  created_at bigint NOT NULL,
  retired_until bigint,
  PRIMARY KEY (owner, secret)
);

-- Token buckets of the per-key rate limit, shared by every process.
CREATE TABLE rate_buckets (
  key text PRIMARY KEY,
  tokens double precision NOT NULL,
  at bigint NOT NULL,
  granted boolean NOT NULL DEFAULT true
);

-- The digest of the API key generated at the first start (the key itself is shown once, by the process that made it).
CREATE TABLE api_keys (
  name text PRIMARY KEY,
  digest text NOT NULL,
  created_at bigint NOT NULL
);
`
  },
  {
    version: 2,
    name: "tasks.embeddings: the create asked for each face's embedding",
    sql: `ALTER TABLE tasks ADD COLUMN embeddings boolean NOT NULL DEFAULT false;`
  }
]

/**
 * What `migrate` found: the versions applied by this call, and those already there.
 *
 * @since 0.1.0
 */
export interface Migrated {
  readonly applied: ReadonlyArray<Migration>
  readonly present: ReadonlyArray<number>
}

/**
 * The advisory-lock key of migrations (any constant works; this one spells "facedet" in ASCII).
 *
 * @since 0.1.0
 */
export const migrationLock = 0x66616365646574

/**
 * Applies the migrations this database lacks, in one transaction under an advisory lock. With `dryRun`, reports
 * what would be applied and changes nothing. A database whose schema is newer than this build fails: an old
 * process must not run against tables it does not understand.
 *
 * @since 0.1.0
 */
export const migrate = (options: { readonly dryRun?: boolean } = {}) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* Postgres.failOnSqlDefect(
      sql.withTransaction(
        Effect.gen(function* () {
          yield* sql`SELECT pg_advisory_xact_lock(${migrationLock})`
          const [table] = yield* sql<{ found: boolean }>`SELECT to_regclass('facedet_migrations') IS NOT NULL AS found`
          // A dry run creates nothing, not even the record of migrations.
          if (!table?.found && !options.dryRun) {
            yield* sql`CREATE TABLE facedet_migrations (
            version integer PRIMARY KEY,
            name text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
          )`
          }
          const rows = table?.found
            ? yield* sql<{ version: number }>`SELECT version FROM facedet_migrations ORDER BY version`
            : []
          const present = rows.map((r) => r.version)
          const newest = migrations[migrations.length - 1]!.version
          const unknown = present.filter((v) => v > newest)
          if (unknown.length > 0) {
            return yield* Effect.fail(new SchemaTooNew({ version: Math.max(...unknown), supported: newest }))
          }
          const pending = migrations.filter((m) => !present.includes(m.version))
          if (options.dryRun) return { applied: pending, present } satisfies Migrated
          for (const m of pending) {
            yield* sql.unsafe(m.sql)
            yield* sql`INSERT INTO facedet_migrations (version, name) VALUES (${m.version}, ${m.name})`
          }
          return { applied: pending, present } satisfies Migrated
        })
      )
    )
  })

/**
 * The database was migrated by a newer facedet.
 *
 * @since 0.1.0
 */
export class SchemaTooNew extends Data.TaggedError("SchemaTooNew")<{
  readonly version: number
  readonly supported: number
}> {
  override get message(): string {
    return `the database schema is at version ${this.version}, newer than this facedet understands (${this.supported}); upgrade facedet`
  }
}

/**
 * Why migrating failed: the database, or a schema newer than this build.
 *
 * @since 0.1.0
 */
export type MigrateError = SqlError | SchemaTooNew

/**
 * Connects to `url`, migrates (or, with `dryRun`, reports what would be applied), and disconnects: what
 * `facedet db migrate` runs, for operators who migrate before starting the processes.
 *
 * @since 0.1.0
 */
export const migrateUrl = (
  url: string,
  options: { readonly dryRun?: boolean } = {}
): Effect.Effect<Migrated, Postgres.DatabaseUrlInvalid | Postgres.DatabaseUnreachable | MigrateError> =>
  Either.match(Postgres.parseUrl(url), {
    onLeft: (reason) => Effect.fail(new Postgres.DatabaseUrlInvalid({ reason })),
    onRight: (parsed) =>
      Effect.provide(
        migrate(options),
        Postgres.layer(parsed, { maxConnections: 1, applicationName: "facedet-migrate" })
      )
  })
