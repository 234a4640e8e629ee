/**
 * The stores' SQL for stage moves, built from core's task machine (`TaskStatus.stagesInto`): each guarded write
 * matches only rows in a stage that may move to the new one, so the database refuses an illegal move (a finished
 * task completed again, a queued one succeeding) in the same statement, without a read first.
 */
import * as TaskStatus from "@facedet/core/TaskStatus"

const quoted = (stages: ReadonlyArray<TaskStatus.Stage>): string => stages.map((s) => `'${s}'`).join(", ")

/**
 * `state IN (...)`: the stages a row may leave for every one of `targets` (a write that may end in either of two
 * stages, say requeue-or-fail, must be legal for both).
 */
export const into = (targets: ReadonlyArray<TaskStatus.Stage>, column = "state"): string => {
  const from = TaskStatus.stages.filter((s) => targets.every((t) => TaskStatus.stagesInto(t).includes(s)))
  // An empty guard would be a store written against the machine: fail at load, not with rows that never match.
  if (from.length === 0) throw new Error(`no stage may move to ${targets.join(" and ")}`)
  return `${column} IN (${quoted(from)})`
}

/** `state = '...'`: rows in that stage (a lease is held only by a running task). */
export const is = (stage: TaskStatus.Stage, column = "state"): string => `${column} = '${stage}'`

/** `state = '...'` as an assignment. */
export const set = (stage: TaskStatus.Stage): string => `state = '${stage}'`
