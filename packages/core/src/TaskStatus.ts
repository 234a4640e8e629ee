/**
 * The life of a detection task: `starting -> processing -> succeeded | failed`, and `starting -> failed`.
 * Terminal states have no way out.
 *
 * Two uses: a server moves a task with {@link transition} (illegal moves are typed errors), and a client checks
 * what it observes with {@link observe} (statuses never go backwards; a status string this version does not know,
 * from a newer server, is treated as in flight rather than as a crash).
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"

/**
 * The statuses this version knows.
 *
 * @since 0.1.0
 * @category Models
 */
export const statuses = ["starting", "processing", "succeeded", "failed"] as const

/**
 * @since 0.1.0
 * @category Models
 */
export type TaskStatus = (typeof statuses)[number]

/**
 * A status as read from the wire: a known one, or any string a newer server may send.
 *
 * @since 0.1.0
 * @category Models
 */
export type Observed = TaskStatus | (string & {})

/**
 * @since 0.1.0
 * @category Guards
 */
export const isKnown = (status: string): status is TaskStatus => (statuses as ReadonlyArray<string>).includes(status)

/**
 * True for `succeeded` and `failed`. Unknown statuses are not terminal: a client keeps waiting on them.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isTerminal = (status: string): status is "succeeded" | "failed" =>
  status === "succeeded" || status === "failed"

const next: Record<TaskStatus, ReadonlyArray<TaskStatus>> = {
  starting: ["processing", "failed"],
  processing: ["succeeded", "failed"],
  succeeded: [],
  failed: []
}

/**
 * The statuses a task may move to from `from`.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const successors = (from: TaskStatus): ReadonlyArray<TaskStatus> => next[from]

/**
 * A move the state machine does not allow.
 *
 * @since 0.1.0
 * @category Errors
 */
export class IllegalTransition extends Data.TaggedError("IllegalTransition")<{
  readonly from: TaskStatus
  readonly to: TaskStatus
}> {
  override get message(): string {
    return isTerminal(this.from)
      ? `a ${this.from} task is final and cannot become ${this.to}`
      : `a task cannot go from ${this.from} to ${this.to}`
  }
}

/**
 * Moves a task from `from` to `to`, or explains why it may not.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const transition = (from: TaskStatus, to: TaskStatus): Either.Either<TaskStatus, IllegalTransition> =>
  next[from].includes(to) ? Either.right(to) : Either.left(new IllegalTransition({ from, to }))

/**
 * How far along a known status is; unknown statuses have no rank.
 */
const rank = (status: TaskStatus): number => (status === "starting" ? 0 : status === "processing" ? 1 : 2)

/**
 * What a client has seen of a task so far: the furthest known status and the last raw one.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Observation {
  readonly furthest: TaskStatus | undefined
  readonly last: Observed
}

/**
 * An observed status that goes back on an earlier one (e.g. `processing` after `succeeded`, or a stale replica
 * answering `starting` after `processing`).
 *
 * @since 0.1.0
 * @category Errors
 */
export class StatusRegression extends Data.TaggedError("StatusRegression")<{
  readonly previous: TaskStatus
  readonly observed: TaskStatus
}> {
  override get message(): string {
    return `status went back from ${this.previous} to ${this.observed}`
  }
}

/**
 * Checks the next observed status against what was seen before.
 *
 * **Details**
 *
 * - A known status may move forward or stay; moving backwards (or leaving a terminal status) is a
 *   `StatusRegression`, which a client should treat as a stale answer and keep its earlier view.
 * - An unknown status string is accepted as "still in flight" and does not move `furthest`.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const observe = (
  previous: Observation | undefined,
  status: Observed
): Either.Either<Observation, StatusRegression> => {
  const furthest = previous?.furthest
  if (!isKnown(status)) return Either.right({ furthest, last: status })
  if (furthest === undefined) return Either.right({ furthest: status, last: status })
  if (status === furthest) return Either.right({ furthest, last: status })
  const forward = rank(status) > rank(furthest) && !isTerminal(furthest)
  return forward
    ? Either.right({ furthest: status, last: status })
    : Either.left(new StatusRegression({ previous: furthest, observed: status }))
}

/**
 * Checks a whole observed sequence; the first regression, if any, is the error.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const observeAll = (sequence: Iterable<Observed>): Either.Either<Observation | undefined, StatusRegression> => {
  let state: Observation | undefined
  for (const status of sequence) {
    const r = observe(state, status)
    if (Either.isLeft(r)) return r
    state = r.right
  }
  return Either.right(state)
}

/**
 * Where a server keeps a task: `queued` (waiting for a worker), `running` (a worker holds it), or ended. A server
 * stores stages, never wire statuses; {@link ofStage} projects one onto the other.
 *
 * @since 0.1.0
 * @category Stages
 */
export const stages = ["queued", "running", "succeeded", "failed"] as const

/**
 * @since 0.1.0
 * @category Stages
 */
export type Stage = (typeof stages)[number]

// Only a worker's task ends (it holds the result or the error), and a task leaves a worker only to end or to wait
// again (released, or its worker died); `stageAdvance` checks each of these against the wire machine above.
const nextStage: Record<Stage, ReadonlyArray<Stage>> = {
  queued: ["running"],
  running: ["queued", "succeeded", "failed"],
  succeeded: [],
  failed: []
}

/**
 * The wire status of a stage. A task claimed before (`claimedBefore`) that waits again still shows `processing`:
 * statuses never go back.
 *
 * @since 0.1.0
 * @category Stages
 */
export const ofStage = (stage: Stage, claimedBefore: boolean): TaskStatus =>
  stage === "queued" ? (claimedBefore ? "processing" : "starting") : stage === "running" ? "processing" : stage

/**
 * A stage move the machine does not allow.
 *
 * @since 0.1.0
 * @category Errors
 */
export class IllegalStageMove extends Data.TaggedError("IllegalStageMove")<{
  readonly from: Stage
  readonly to: Stage
}> {
  override get message(): string {
    return isTerminal(this.from)
      ? `a ${this.from} task is final and cannot become ${this.to}`
      : `a ${this.from} task cannot become ${this.to}`
  }
}

/**
 * Moves a stored task from one stage to another. Legal when the server's stage graph has the edge and its wire
 * projection is a legal {@link transition} or stays in flight (a requeued task remains `processing`).
 *
 * @since 0.1.0
 * @category Stages
 */
export const stageAdvance = (
  from: Stage,
  to: Stage,
  claimedBefore: boolean
): Either.Either<Stage, IllegalStageMove> => {
  const before = ofStage(from, claimedBefore)
  const after = ofStage(to, claimedBefore || from === "running" || to === "running")
  const wire = (before === after && !isTerminal(before)) || next[before].includes(after)
  return nextStage[from].includes(to) && wire ? Either.right(to) : Either.left(new IllegalStageMove({ from, to }))
}

/**
 * The stages a task may enter `to` from: what a store's guarded write (`... WHERE state IN (...)`) is built from,
 * so the database itself refuses an illegal move in the same statement.
 *
 * @since 0.1.0
 * @category Stages
 */
export const stagesInto = (to: Stage): ReadonlyArray<Stage> =>
  stages.filter((from) => Either.isRight(stageAdvance(from, to, false)) || Either.isRight(stageAdvance(from, to, true)))
