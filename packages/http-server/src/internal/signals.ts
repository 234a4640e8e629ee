/**
 * In-process wake-ups: a long-poll waits for its task to end, and idle workers wait for new tasks. Both are only
 * hints layered over the store (a waiter always re-reads the store after waking, and workers also poll), so a
 * spurious signal costs a store read and a missed one (another process finished the task) at most the re-read
 * interval. A long-poll listens before it reads, so a task of this process that ends between the read and the wait
 * still wakes it. With several server processes (PostgreSQL), `Cluster` feeds them from LISTEN/NOTIFY.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"

/** A long-poll's interest in one task, registered before it reads the store. */
export interface Listener {
  /**
   * Resolves on the task's signal or after `ms`, whichever comes first. A signal that arrived since the last wait
   * (or since `listen`) resolves it at once: an end between a store read and this wait is never missed.
   */
  readonly wait: (ms: number) => Effect.Effect<void>
}

/** Wake-ups keyed by task id. */
export interface TaskSignals {
  /** Listens for `taskId`'s signal until the scope closes. */
  readonly listen: (taskId: string) => Effect.Effect<Listener, never, Scope.Scope>
  /** The task ended (its new state is committed). */
  readonly notify: (taskId: string) => void
  /** Wakes every listener (shutdown). */
  readonly notifyAll: () => void
}

interface Entry {
  signalled: boolean
  wake: (() => void) | undefined
}

export const taskSignals = (): TaskSignals => {
  const listeners = new Map<string, Set<Entry>>()
  const signal = (entries: Set<Entry>) => {
    for (const entry of entries) {
      entry.signalled = true
      entry.wake?.()
    }
  }
  return {
    notify: (taskId) => {
      const entries = listeners.get(taskId)
      if (entries) signal(entries)
    },
    notifyAll: () => {
      for (const entries of listeners.values()) signal(entries)
    },
    listen: (taskId) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const entry: Entry = { signalled: false, wake: undefined }
          const entries = listeners.get(taskId) ?? new Set<Entry>()
          listeners.set(taskId, entries)
          entries.add(entry)
          return entry
        }),
        (entry) =>
          Effect.sync(() => {
            const entries = listeners.get(taskId)
            entries?.delete(entry)
            if (entries?.size === 0) listeners.delete(taskId)
          })
      ).pipe(
        Effect.map(
          (entry): Listener => ({
            wait: (ms) =>
              Effect.async<void>((resume) => {
                if (entry.signalled) {
                  entry.signalled = false
                  return resume(Effect.void)
                }
                const done = () => {
                  clearTimeout(timer)
                  entry.wake = undefined
                  entry.signalled = false
                  resume(Effect.void)
                }
                const timer = setTimeout(done, ms)
                entry.wake = done
                return Effect.sync(() => {
                  clearTimeout(timer)
                  entry.wake = undefined
                })
              })
          })
        )
      )
  }
}

/** A counting wake-up for idle workers. */
export interface WorkSignal {
  /** Wakes one idle worker (or lets the next one that idles pass at once). */
  readonly wake: () => void
  /** Waits for `wake` or `ms`. */
  readonly idle: (ms: number) => Effect.Effect<void>
  readonly wakeAll: () => void
}

export const workSignal = (): WorkSignal => {
  const idle: Array<() => void> = []
  let pending = 0
  return {
    wake: () => {
      const next = idle.shift()
      if (next) next()
      else pending = Math.min(pending + 1, 1024)
    },
    wakeAll: () => {
      for (const w of idle.splice(0)) w()
    },
    idle: (ms) =>
      Effect.async<void>((resume) => {
        if (pending > 0) {
          pending--
          return resume(Effect.void)
        }
        const wake = () => {
          clearTimeout(timer)
          resume(Effect.void)
        }
        const timer = setTimeout(() => {
          const i = idle.indexOf(wake)
          if (i !== -1) idle.splice(i, 1)
          resume(Effect.void)
        }, ms)
        idle.push(wake)
        return Effect.sync(() => {
          clearTimeout(timer)
          const i = idle.indexOf(wake)
          if (i !== -1) idle.splice(i, 1)
        })
      })
  }
}

/** Task ends, for the long-polls of this process (fed by its workers and, on PostgreSQL, by the other processes). */
export class Ended extends Context.Tag("@facedet/http-server/signals/Ended")<Ended, TaskSignals>() {}

/** New work for this process's workers: a task was queued (here or, on PostgreSQL, elsewhere). */
export class Queued extends Context.Tag("@facedet/http-server/signals/Queued")<Queued, WorkSignal>() {}

/** A callback may be due: a task with a `callback_url` ended. */
export class Deliveries extends Context.Tag("@facedet/http-server/signals/Deliveries")<Deliveries, WorkSignal>() {}

export const layer: Layer.Layer<Ended | Queued | Deliveries> = Layer.mergeAll(
  Layer.sync(Ended, taskSignals),
  Layer.sync(Queued, workSignal),
  Layer.sync(Deliveries, workSignal)
)
