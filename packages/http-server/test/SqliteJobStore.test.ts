/**
 * The SQLite job store's rules, on a real database in a temporary directory with Effect's TestClock: idempotent
 * creates and the queue bound in one transaction, leases with fencing, expiry and requeueing, orphans of a dead
 * process, retention, and the one-server-per-directory lock.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import type { Claim, CreateInput } from "../src/JobStore.js"
import * as SqliteJobStore from "../src/SqliteJobStore.js"
import { tempDir } from "./support.js"

const input = (id: string, extra: Partial<CreateInput> = {}) => ({
  id,
  kind: "image" as const,
  mediaUrl: `https://media.example.com/${id}.jpg`,
  owner: "k1",
  queueLimit: 100,
  ...extra
})

const success = { detectId: "AbCdEfGhIjK", faces: [], files: [], ttlMs: 3_600_000 }

describe("SqliteJobStore", () => {
  it.scoped("creates idempotently per owner and key, and refuses past the queue bound", () =>
    Effect.gen(function* () {
      const store = yield* SqliteJobStore.make({ dataDir: tempDir() })
      const a = yield* store.create(input("a", { idempotencyKey: "k", requestHash: "h1" }))
      const again = yield* store.create(input("b", { idempotencyKey: "k", requestHash: "h1" }))
      expect(a.created).toBe(true)
      expect(again).toMatchObject({ created: false, task: { id: "a" } })
      const conflict = yield* Effect.flip(store.create(input("c", { idempotencyKey: "k", requestHash: "h2" })))
      expect(conflict._tag).toBe("IdempotencyConflict")
      const otherOwner = yield* store.create(input("d", { owner: "k2", idempotencyKey: "k", requestHash: "h2" }))
      expect(otherOwner.created).toBe(true)
      const full = yield* Effect.flip(store.create(input("e", { queueLimit: 2 })))
      expect(full).toMatchObject({ _tag: "QueueFull", limit: 2, depth: 2 })
      expect(Option.isNone(yield* store.get("e"))).toBe(true)
    })
  )

  it.scoped("claims oldest first with a fencing token; a stale claim cannot write", () =>
    Effect.gen(function* () {
      const store = yield* SqliteJobStore.make({ dataDir: tempDir() })
      yield* store.create(input("a"))
      yield* TestClock.adjust(1)
      yield* store.create(input("b"))
      const first = Option.getOrThrow(yield* store.claim("w1", 30_000))
      expect(first.task.id).toBe("a")
      expect(first.task.state).toBe("running")
      expect(first.task.attempts).toBe(1)

      // The lease runs out; the reaper requeues; another worker claims with a higher fence.
      yield* TestClock.adjust(30_001)
      const touched = yield* store.requeueExpired(3)
      expect(touched.map((t) => [t.id, t.state])).toEqual([["a", "queued"]])
      const second = Option.getOrThrow(yield* store.claim("w2", 30_000))
      expect(second.task.id).toBe("a")
      expect(second.fence).toBeGreaterThan(first.fence)

      // The first worker wakes up: every write it makes is refused.
      expect((yield* Effect.flip(store.heartbeat(first, 30_000)))._tag).toBe("LeaseLost")
      expect((yield* Effect.flip(store.complete(first, success)))._tag).toBe("LeaseLost")
      expect((yield* Effect.flip(store.fail(first, { code: "x", message: "y" })))._tag).toBe("LeaseLost")
      const done = yield* store.complete(second, success)
      expect(done).toMatchObject({ state: "succeeded", detectId: "AbCdEfGhIjK" })
      expect((yield* Effect.flip(store.complete(second, success)))._tag).toBe("LeaseLost")
    })
  )

  it.scoped("heartbeats keep a lease; a task that keeps losing its worker is failed after maxAttempts", () =>
    Effect.gen(function* () {
      const store = yield* SqliteJobStore.make({ dataDir: tempDir() })
      yield* store.create(input("a"))
      const claim = Option.getOrThrow(yield* store.claim("w1", 1000))
      yield* TestClock.adjust(900)
      yield* store.heartbeat(claim, 1000)
      yield* TestClock.adjust(900)
      expect(yield* store.requeueExpired(2)).toEqual([])
      yield* TestClock.adjust(200)
      expect((yield* store.requeueExpired(2))[0]?.state).toBe("queued")
      Option.getOrThrow(yield* store.claim("w2", 1000))
      yield* TestClock.adjust(1001)
      const [gaveUp] = yield* store.requeueExpired(2)
      expect(gaveUp).toMatchObject({ state: "failed", error: { code: "Detect.WorkerLost" } })
    })
  )

  it.scoped("release gives a task back without spending an attempt; its wire status stays past starting", () =>
    Effect.gen(function* () {
      const store = yield* SqliteJobStore.make({ dataDir: tempDir() })
      yield* store.create(input("a"))
      const claim: Claim = Option.getOrThrow(yield* store.claim("w1", 1000))
      yield* store.release(claim)
      const task = Option.getOrThrow(yield* store.get("a"))
      expect(task).toMatchObject({ state: "queued", attempts: 0 })
      expect(task.startedAt).toBeDefined()
    })
  )

  it.effect("requeues the running tasks of a dead process when it opens, and locks the directory", () =>
    Effect.gen(function* () {
      const dataDir = tempDir()
      yield* Effect.scoped(
        Effect.gen(function* () {
          const store = yield* SqliteJobStore.make({ dataDir })
          yield* store.create(input("a"))
          Option.getOrThrow(yield* store.claim("w1", 600_000))
          // While open, a second store on the same directory is refused.
          const locked = yield* Effect.exit(Effect.scoped(SqliteJobStore.make({ dataDir })))
          expect(Exit.isFailure(locked) && JSON.stringify(locked.cause)).toMatch(/DataDirLocked/)
        })
      )
      const reopened = yield* Effect.scoped(
        Effect.gen(function* () {
          const store = yield* SqliteJobStore.make({ dataDir })
          yield* store.requeueOrphans(3)
          return Option.getOrThrow(yield* store.get("a"))
        })
      )
      expect(reopened.state).toBe("queued")
    })
  )

  it.scoped("sweeps expired files and, after retention, task records", () =>
    Effect.gen(function* () {
      const store = yield* SqliteJobStore.make({ dataDir: tempDir() })
      yield* store.create(input("a"))
      const claim = Option.getOrThrow(yield* store.claim("w1", 1000))
      yield* store.complete(claim, {
        ...success,
        files: [
          {
            token: "T".repeat(32),
            kind: "crop",
            path: "crops/a/0.jpg",
            contentType: "image/jpeg",
            size: 10,
            taskId: "a"
          }
        ]
      })
      expect(Option.isSome(yield* store.getMedia("T".repeat(32)))).toBe(true)
      yield* TestClock.adjust(3_600_001)
      expect(Option.isNone(yield* store.getMedia("T".repeat(32)))).toBe(true)
      const swept = yield* store.sweep(24 * 3_600_000)
      expect(swept).toEqual({ tasks: 0, files: ["crops/a/0.jpg"], more: false })
      yield* TestClock.adjust(24 * 3_600_000)
      expect((yield* store.sweep(24 * 3_600_000)).tasks).toBe(1)
      expect(Option.isNone(yield* store.get("a"))).toBe(true)
    })
  )
})
