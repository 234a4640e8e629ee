/**
 * In-process wake-ups: a long-poll waits for its task to end, and idle workers wait for new tasks. Both are only
 * hints layered over the store (a waiter always re-reads the store after waking, and workers also poll), so a
 * missed or spurious signal costs latency, never correctness. With several server processes (PostgreSQL), the
 * same roles would be played by LISTEN/NOTIFY.
 */
import * as Effect from "effect/Effect"

/** Waiters keyed by task id. */
export interface TaskSignals {
  /** Resolves when `notify(taskId)` is called or after `ms`, whichever comes first. */
  readonly wait: (taskId: string, ms: number) => Effect.Effect<void>
  readonly notify: (taskId: string) => void
  /** Wakes every waiter (shutdown). */
  readonly notifyAll: () => void
}

export const taskSignals = (): TaskSignals => {
  const waiters = new Map<string, Set<() => void>>()
  const notify = (taskId: string) => {
    const set = waiters.get(taskId)
    if (!set) return
    waiters.delete(taskId)
    for (const wake of set) wake()
  }
  return {
    notify,
    notifyAll: () => {
      for (const id of [...waiters.keys()]) notify(id)
    },
    wait: (taskId, ms) =>
      Effect.async<void>((resume) => {
        const set = waiters.get(taskId) ?? new Set<() => void>()
        waiters.set(taskId, set)
        const wake = () => {
          clearTimeout(timer)
          resume(Effect.void)
        }
        const timer = setTimeout(() => {
          set.delete(wake)
          if (set.size === 0 && waiters.get(taskId) === set) waiters.delete(taskId)
          resume(Effect.void)
        }, ms)
        set.add(wake)
        return Effect.sync(() => {
          clearTimeout(timer)
          set.delete(wake)
          if (set.size === 0 && waiters.get(taskId) === set) waiters.delete(taskId)
        })
      })
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
