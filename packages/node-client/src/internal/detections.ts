/**
 * What one client instance has seen of its detection tasks: which media each task detected, when it was last seen
 * in flight, and when success was observed. From that, a multi-face swap with a detect_id past its hour, or with
 * another media URL than the one detected, is refused locally (nothing sent, no credits spent).
 *
 * Bounded: the oldest entries are dropped past {@link capacity}, so a long-lived client does not grow without end.
 */
import type { DetectId, MediaFormat } from "@facedet/core"

/** How many tasks and detect_ids are remembered (each). */
export const capacity = 10_000

/** The kind of media a detection ran on. */
export type MediaKind = MediaFormat.MediaKind

interface TaskRecord {
  /** Known for the tasks this client created. */
  readonly kind?: MediaKind | undefined
  readonly mediaUrl?: string | undefined
  /** Start of the last request that saw the task not yet succeeded (the create included). */
  notBefore: number
}

/** What the client knows about a detect_id. */
export interface Detection extends DetectId.Observation {
  readonly detectTaskId: string
  readonly kind?: MediaKind | undefined
  /** The `faces[].id` the detection found: the `face_id`s a swap may name. */
  readonly faceIds: ReadonlyArray<number>
}

const remember = <V>(map: Map<string, V>, key: string, value: V): void => {
  map.delete(key)
  map.set(key, value)
  if (map.size > capacity) {
    const oldest = map.keys().next()
    if (!oldest.done) map.delete(oldest.value)
  }
}

/** A client's memory of its detections. Mutated only inside `Effect.sync` by the service. */
export class Detections {
  private readonly tasks = new Map<string, TaskRecord>()
  private readonly detections = new Map<string, Detection>()

  /** A create answered with this task id. */
  created(detectTaskId: string, kind: MediaKind, mediaUrl: string, startedAt: number): void {
    remember(this.tasks, detectTaskId, { kind, mediaUrl, notBefore: startedAt })
  }

  /** The kind of media a task created by this client detects. */
  kindOf(detectTaskId: string): MediaKind | undefined {
    return this.tasks.get(detectTaskId)?.kind
  }

  /** A result answer: in flight (moves `notBefore` forward) or succeeded (records the detect_id). */
  observed(
    detectTaskId: string,
    answer: {
      readonly status: string
      readonly detectId: string | undefined
      readonly faceIds: ReadonlyArray<number>
    },
    startedAt: number,
    receivedAt: number
  ): void {
    const task = this.tasks.get(detectTaskId)
    if (answer.status !== "succeeded" || answer.detectId === undefined) {
      if (answer.status === "failed") return
      // Seen in flight, created here or not (a resumed wait): success comes after this request started.
      if (task) task.notBefore = Math.max(task.notBefore, startedAt)
      else remember(this.tasks, detectTaskId, { notBefore: startedAt })
      return
    }
    const known = this.detections.get(answer.detectId)
    // Success happened before the first answer that showed it: keep the earliest sighting.
    const observedAt = known ? Math.min(known.observedAt, receivedAt) : receivedAt
    remember(this.detections, answer.detectId, {
      detectId: answer.detectId,
      detectTaskId,
      observedAt,
      mediaUrl: task?.mediaUrl ?? known?.mediaUrl,
      notBefore: task?.notBefore ?? known?.notBefore,
      kind: task?.kind ?? known?.kind,
      faceIds: answer.faceIds
    })
  }

  /** What is known of a detect_id, if this client saw it succeed. */
  get(detectId: string): Detection | undefined {
    return this.detections.get(detectId)
  }
}
