/**
 * The job store's rows as both adapters read them (snake_case columns), and their mapping to the store's types. The
 * only differences between the two databases: SQLite keeps `faces` as JSON text and `isolate` and `embeddings` as 0/1.
 */
import type { Delivery, MediaFile, StoredFace, Task } from "../JobStore.js"

export interface TaskRow {
  id: string
  kind: Task["kind"]
  media_url: string
  owner: string
  state: Task["state"]
  attempts: number
  fence: number
  created_at: number
  started_at: number | null
  finished_at: number | null
  detect_id: string | null
  /** JSON text (SQLite) or already parsed (PostgreSQL). */
  faces: string | ReadonlyArray<StoredFace> | null
  error_code: string | null
  error_message: string | null
  media_expires_at: number | null
  request_hash: string | null
  callback_url: string | null
  upload_token: string | null
  isolate: number | boolean
  embeddings: number | boolean
}

export const toTask = (r: TaskRow): Task => ({
  id: r.id,
  kind: r.kind,
  mediaUrl: r.media_url,
  owner: r.owner,
  state: r.state,
  attempts: r.attempts,
  createdAt: r.created_at,
  startedAt: r.started_at ?? undefined,
  finishedAt: r.finished_at ?? undefined,
  detectId: r.detect_id ?? undefined,
  faces:
    r.faces === null
      ? undefined
      : typeof r.faces === "string"
        ? (JSON.parse(r.faces) as ReadonlyArray<StoredFace>)
        : r.faces,
  error: r.error_code === null ? undefined : { code: r.error_code, message: r.error_message ?? "" },
  mediaExpiresAt: r.media_expires_at ?? undefined,
  callbackUrl: r.callback_url ?? undefined,
  embeddings: r.embeddings === 1 || r.embeddings === true,
  source:
    r.upload_token === null || r.upload_token === undefined
      ? { _tag: "Remote", url: r.media_url }
      : { _tag: "Upload", token: r.upload_token },
  isolated: r.isolate === 1 || r.isolate === true
})

export interface DeliveryRow {
  id: string
  task_id: string
  owner: string
  url: string
  state: Delivery["state"]
  attempts: number
  last_status: number | null
  last_error: string | null
  next_attempt_at: number | null
  created_at: number
  body: string | null
}

export const toDelivery = (r: DeliveryRow): Delivery => ({
  id: r.id,
  taskId: r.task_id,
  owner: r.owner,
  url: r.url,
  state: r.state,
  attempts: r.attempts,
  lastStatus: r.last_status ?? undefined,
  lastError: r.last_error ?? undefined,
  nextAttemptAt: r.next_attempt_at ?? undefined,
  createdAt: r.created_at,
  body: r.body ?? undefined
})

export interface MediaRow {
  token: string
  kind: MediaFile["kind"]
  path: string
  content_type: string
  size: number
  expires_at: number
  task_id: string | null
  owner: string | null
}

export const toMedia = (r: MediaRow): MediaFile => ({
  token: r.token,
  kind: r.kind,
  path: r.path,
  contentType: r.content_type,
  size: r.size,
  expiresAt: r.expires_at,
  taskId: r.task_id ?? undefined,
  owner: r.owner ?? undefined
})
