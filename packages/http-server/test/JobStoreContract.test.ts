/**
 * The job store's contract, run against both adapters: the embedded SQLite store and the PostgreSQL one (a fresh
 * database of the machine's server). Real time with short leases, since PostgreSQL judges leases by its own clock.
 * Under PostgreSQL it also checks what only many writers can break: concurrent claims never share a task, racing
 * creates with one idempotency key make one task, and the queue bound holds under a burst of creates.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as TaskStatus from "@facedet/core/TaskStatus"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as JobStore from "../src/JobStore.js"
import type { CreateInput, Service } from "../src/JobStore.js"
import * as PgJobStore from "../src/PgJobStore.js"
import * as SqliteJobStore from "../src/SqliteJobStore.js"
import { freshDatabase, migrated, pgAvailable, truncate } from "./pg.js"
import { tempDir } from "./support.js"

const input = (id: string, extra: Partial<CreateInput> = {}): CreateInput => ({
  id,
  kind: "image",
  mediaUrl: `https://media.example.com/${id}.jpg`,
  owner: "k1",
  queueLimit: 100,
  ...extra
})

const success = { detectId: "AbCdEfGhIjK", faces: [], files: [], ttlMs: 3_600_000 }
const sleep = (ms: number) => Effect.promise(() => new Promise((r) => setTimeout(r, ms)))

interface Adapter {
  readonly open: () => Promise<Service>
  readonly concurrent: boolean
}

const contract = (name: string, adapter: () => Adapter) =>
  describe(`JobStore contract: ${name}`, () => {
    const store = () => adapter().open()
    const run = <A, E>(f: (s: Service) => Effect.Effect<A, E>) => store().then((s) => Effect.runPromise(f(s)))

    it("creates idempotently per owner and key, and refuses past the queue bound", () =>
      run((s) =>
        Effect.gen(function* () {
          const a = yield* s.create(input("a", { idempotencyKey: "k", requestHash: "h1" }))
          const again = yield* s.create(input("b", { idempotencyKey: "k", requestHash: "h1" }))
          expect(a.created).toBe(true)
          expect(again).toMatchObject({ created: false, task: { id: "a" } })
          const conflict = yield* Effect.flip(s.create(input("c", { idempotencyKey: "k", requestHash: "h2" })))
          expect(conflict._tag).toBe("IdempotencyConflict")
          expect((yield* s.create(input("d", { owner: "k2", idempotencyKey: "k", requestHash: "h2" }))).created).toBe(
            true
          )
          expect(yield* Effect.flip(s.create(input("e", { queueLimit: 2 })))).toMatchObject({
            _tag: "QueueFull",
            limit: 2,
            depth: 2
          })
          expect(yield* Effect.flip(s.create(input("f", { ownerLimit: 1 })))).toMatchObject({
            _tag: "OwnerQuotaExceeded"
          })
          expect(Option.isNone(yield* s.get("e"))).toBe(true)
          expect(yield* s.depth).toEqual({ queued: 2, running: 0 })
        })
      ))

    it("keeps a task's embeddings request, and the faces' embeddings as written", () =>
      run((s) =>
        Effect.gen(function* () {
          expect((yield* s.create(input("e1", { embeddings: true }))).task.embeddings).toBe(true)
          expect((yield* s.create(input("e2"))).task.embeddings).toBe(false)
          const claim = Option.getOrThrow(yield* s.claim("w1", 60_000))
          expect(claim.task).toMatchObject({ id: "e1", embeddings: true })
          const embedding = Array.from({ length: 128 }, (_, i) => Math.round(Math.sin(i) * 10_000) / 10_000)
          const face = { id: 0, token: "t0", box: [1, 2, 3, 4] as const, score: 0.9, landmarks: {}, embedding }
          yield* s.complete(claim, { ...success, faces: [face] })
          expect(Option.getOrThrow(yield* s.get("e1")).faces).toEqual([face])
        })
      ))

    it("claims fairly with a fencing token; a stale claim cannot write; the end writes the outbox", () =>
      run((s) =>
        Effect.gen(function* () {
          yield* s.create(input("a", { callbackUrl: "https://hooks.example.com/x" }))
          yield* sleep(2)
          yield* s.create(input("b"))
          yield* sleep(2)
          yield* s.create(input("c", { owner: "k2" }))
          const first = Option.getOrThrow(yield* s.claim("w1", 100))
          expect(first.task).toMatchObject({ id: "a", state: "running", attempts: 1 })
          // k1 has a task running: k2's task goes before k1's older one.
          const second = Option.getOrThrow(yield* s.claim("w2", 60_000))
          expect(second.task.id).toBe("c")

          yield* sleep(150)
          const touched = yield* s.requeueExpired(3)
          expect(touched.map((t) => [t.id, t.state])).toEqual([["a", "queued"]])
          const again = Option.getOrThrow(yield* s.claim("w3", 60_000))
          expect(again.task.id).toBe("a")
          expect(again.fence).toBeGreaterThan(first.fence)
          expect((yield* Effect.flip(s.heartbeat(first, 1000)))._tag).toBe("LeaseLost")
          expect((yield* Effect.flip(s.complete(first, success)))._tag).toBe("LeaseLost")
          expect((yield* Effect.flip(s.fail(first, { code: "x", message: "y" })))._tag).toBe("LeaseLost")
          const done = yield* s.complete(again, {
            ...success,
            files: [{ token: "T".repeat(32), kind: "crop", path: "crops/a/0.jpg", contentType: "image/jpeg", size: 9 }]
          })
          expect(done).toMatchObject({ state: "succeeded", detectId: "AbCdEfGhIjK" })
          expect((yield* Effect.flip(s.complete(again, success)))._tag).toBe("LeaseLost")
          expect(Option.getOrThrow(yield* s.getMedia("T".repeat(32)))).toMatchObject({ taskId: "a", size: 9 })
          expect(Option.getOrThrow(yield* s.delivery("a"))).toMatchObject({ id: "msg_a", state: "pending" })
          expect(Option.isNone(yield* s.delivery("c"))).toBe(true)
        })
      ))

    it("a task whose worker keeps dying ends failed with Detect.WorkerLost after maxAttempts", () =>
      run((s) =>
        Effect.gen(function* () {
          // Margins of half a second: a loaded machine may sleep longer than asked, never shorter.
          yield* s.create(input("a"))
          const claim = Option.getOrThrow(yield* s.claim("w1", 1000))
          yield* sleep(500)
          yield* s.heartbeat(claim, 1000)
          yield* sleep(500)
          expect(yield* s.requeueExpired(2)).toEqual([])
          yield* sleep(700)
          expect((yield* s.requeueExpired(2))[0]?.state).toBe("queued")
          Option.getOrThrow(yield* s.claim("w2", 100))
          yield* sleep(200)
          const [gaveUp] = yield* s.requeueExpired(2)
          expect(gaveUp).toMatchObject({ state: "failed", error: { code: "Detect.WorkerLost" } })
          expect(Option.isNone(yield* s.claim("w3", 50))).toBe(true)
        })
      ))

    it("moves tasks only as core's machine allows: the wire status a client sees never goes back", () =>
      run((s) =>
        Effect.gen(function* () {
          const seen: Array<TaskStatus.TaskStatus> = []
          const look = Effect.map(s.get("a"), (t) => seen.push(JobStore.status(Option.getOrThrow(t))))
          yield* s.create(input("a"))
          yield* look
          yield* s.release(Option.getOrThrow(yield* s.claim("w1", 1000)))
          yield* look
          const claim = Option.getOrThrow(yield* s.claim("w2", 1000))
          yield* look
          yield* s.fail(claim, { code: "Media.Corrupt", message: "x" })
          yield* look
          // A failed task is final: no write with its last claim moves it, and no worker claims it.
          expect((yield* Effect.flip(s.complete(claim, success)))._tag).toBe("LeaseLost")
          expect((yield* Effect.flip(s.release(claim)))._tag).toBe("LeaseLost")
          expect((yield* Effect.flip(s.heartbeat(claim, 1000)))._tag).toBe("LeaseLost")
          expect(Option.isNone(yield* s.claim("w3", 1000))).toBe(true)
          yield* look
          expect(seen).toEqual(["starting", "processing", "processing", "failed", "failed"])
          expect(Either.isRight(TaskStatus.observeAll(seen))).toBe(true)
        })
      ))

    it("release gives a task back without spending an attempt", () =>
      run((s) =>
        Effect.gen(function* () {
          yield* s.create(input("a"))
          yield* s.release(Option.getOrThrow(yield* s.claim("w1", 1000)))
          const task = Option.getOrThrow(yield* s.get("a"))
          expect(task).toMatchObject({ state: "queued", attempts: 0 })
          expect(task.startedAt).toBeDefined()
        })
      ))

    it("sweeps expired files and, after retention, task records", () =>
      run((s) =>
        Effect.gen(function* () {
          yield* s.create(input("a"))
          const claim = Option.getOrThrow(yield* s.claim("w1", 1000))
          const token = "S".repeat(32)
          yield* s.complete(claim, {
            ...success,
            ttlMs: 1000,
            files: [{ token, kind: "crop", path: "crops/a/0.jpg", contentType: "image/jpeg", size: 9, taskId: "a" }]
          })
          expect(Option.isSome(yield* s.getMedia(token))).toBe(true)
          expect(yield* s.sweep(3_600_000)).toEqual({ tasks: 0, files: [], more: false })
          yield* sleep(1100)
          expect(Option.isNone(yield* s.getMedia(token))).toBe(true)
          expect(yield* s.sweep(3_600_000)).toEqual({ tasks: 0, files: ["crops/a/0.jpg"], more: false })
          expect((yield* s.sweep(1)).tasks).toBe(1)
          expect(Option.isNone(yield* s.get("a"))).toBe(true)
        })
      ))

    it("keeps webhook secrets with rotation and a grace period", () =>
      run((s) =>
        Effect.gen(function* () {
          const made = yield* s.ensureWebhookSecret("k1", () => "s1")
          expect(made).toEqual({ secret: "s1", created: true })
          expect(yield* s.ensureWebhookSecret("k1", () => "s2")).toEqual({ secret: "s1", created: false })
          expect(yield* s.rotateWebhookSecret("k1", "s3", 60_000)).toBe(true)
          expect(yield* s.rotateWebhookSecret("k1", "s3", 60_000)).toBe(false)
          expect(yield* s.webhookSecrets("k1")).toEqual(["s3", "s1"])
        })
      ))

    it.skipIf(!adapter().concurrent)("twenty workers claiming ten tasks at once take each exactly once", () =>
      run((s) =>
        Effect.gen(function* () {
          for (let i = 0; i < 10; i++) yield* s.create(input(`t${i}`, { owner: `k${i % 3}` }))
          const claims = yield* Effect.all(
            Array.from({ length: 20 }, (_, i) => s.claim(`w${i}`, 60_000)),
            { concurrency: "unbounded" }
          )
          const ids = claims.flatMap((c) => (Option.isSome(c) ? [c.value.task.id] : []))
          expect(ids.length).toBe(10)
          expect(new Set(ids).size).toBe(10)
        })
      )
    )

    it.skipIf(!adapter().concurrent)("racing creates: one task per idempotency key, and the queue bound holds", () =>
      run((s) =>
        Effect.gen(function* () {
          const same = yield* Effect.all(
            Array.from({ length: 10 }, (_, i) =>
              s.create(input(`r${i}`, { idempotencyKey: "same", requestHash: "h" }))
            ),
            { concurrency: "unbounded" }
          )
          expect(same.filter((c) => c.created).length).toBe(1)
          expect(new Set(same.map((c) => c.task.id)).size).toBe(1)
          const burst = yield* Effect.all(
            Array.from({ length: 30 }, (_, i) => Effect.either(s.create(input(`q${i}`, { queueLimit: 11 })))),
            { concurrency: "unbounded" }
          )
          expect(burst.filter((r) => r._tag === "Right").length).toBe(10)
          expect((yield* s.depth).queued).toBe(11)
        })
      )
    )
  })

describe("SQLite", () => {
  const scopes: Array<Scope.CloseableScope> = []
  afterAll(() => Effect.runPromise(Effect.forEach(scopes, (s) => Scope.close(s, Exit.void), { discard: true })))
  contract("SQLite", () => ({
    open: () =>
      Effect.runPromise(
        Effect.flatMap(Scope.make(), (scope) => {
          scopes.push(scope)
          return Scope.extend(SqliteJobStore.make({ dataDir: tempDir() }), scope)
        })
      ),
    concurrent: false
  }))
})

describe.skipIf(!pgAvailable)("PostgreSQL", () => {
  let db: { url: string; drop: () => Promise<void> }
  let runtime: ManagedRuntime.ManagedRuntime<SqlClient.SqlClient, unknown>
  let store: Service
  beforeAll(async () => {
    db = await freshDatabase()
    runtime = ManagedRuntime.make(migrated(db.url, { maxConnections: 20 }))
    store = await runtime.runPromise(PgJobStore.make({ maxAttempts: 3 }))
  })
  afterAll(async () => {
    await runtime?.dispose()
    await db?.drop()
  })
  beforeEach(() => truncate(db.url))
  contract("PostgreSQL", () => ({ open: async () => store, concurrent: true }))
})
