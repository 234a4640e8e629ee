/**
 * The console: an API key, a file or URL, then the task live (long-poll) and its faces drawn over the media.
 * State that must survive a reload (the key, this session's tasks) lives in `sessionStorage` only.
 */
import type * as DetectTask from "@facedet/core/DetectTask"
import { TaskErrorCode } from "@facedet/core/TaskErrorCode"
import * as Timestamp from "@facedet/core/Timestamp"
import { useEffect, useRef, useState } from "preact/hooks"
import * as Api from "./api.js"
import { Faces } from "./Faces.js"

interface TaskEntry {
  readonly id: string
  readonly name: string
  readonly kind: Api.Kind
  readonly createdAt: number
  status: string
}

interface Current {
  readonly entry: TaskEntry
  /** A blob: URL of the local file, or the pasted URL: what the boxes are drawn over. */
  readonly media: string | undefined
  data?: DetectTask.ResultData | undefined
  /** When this page first saw the task succeed. */
  succeededAt?: number | undefined
  endedAt?: number | undefined
  failure?: Api.Failure | undefined
}

const keyStore = "facedet.console.key"
const taskStore = "facedet.console.tasks"
const terminal = (status: string) => status === "succeeded" || status === "failed"

const loadTasks = (): Array<TaskEntry> => {
  try {
    const list = JSON.parse(sessionStorage.getItem(taskStore) ?? "[]") as unknown
    return Array.isArray(list) ? (list as Array<TaskEntry>).filter((t) => typeof t?.id === "string") : []
  } catch {
    return []
  }
}

const errorWords: Record<string, string> = {
  [TaskErrorCode.NoFace]: "No face was found in this media.",
  [TaskErrorCode.DownloadFailed]: "The server could not download the media.",
  [TaskErrorCode.Forbidden]: "The media URL points at an address the server refuses to fetch (private or local).",
  [TaskErrorCode.TooLarge]: "The media is larger than the server accepts.",
  [TaskErrorCode.UnsupportedFormat]: "The file is not an image or video format the server reads.",
  [TaskErrorCode.Corrupt]: "The file claims a supported format but could not be decoded.",
  [TaskErrorCode.DownloadTimeout]: "Downloading the media took too long.",
  [TaskErrorCode.DetectTimeout]: "Detection took longer than the server allows.",
  [TaskErrorCode.Internal]: "The server failed while processing this task.",
  [TaskErrorCode.WorkerLost]: "Processing this media stopped its worker every time it was tried; it is not tried again."
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

export const App = () => {
  const [key, setKey] = useState(() => sessionStorage.getItem(keyStore) ?? "")
  const [keyDraft, setKeyDraft] = useState(key)
  const [url, setUrl] = useState("")
  const [tasks, setTasks] = useState<Array<TaskEntry>>(loadTasks)
  const [current, setCurrent] = useState<Current | undefined>()
  const [busy, setBusy] = useState<string | undefined>()
  const [refusal, setRefusal] = useState<Api.Failure | undefined>()
  const [now, setNow] = useState(Date.now())
  const [dragging, setDragging] = useState(false)
  const media = useRef(new Map<string, string>())
  const watching = useRef<AbortController | undefined>(undefined)

  useEffect(() => sessionStorage.setItem(taskStore, JSON.stringify(tasks.slice(0, 50))), [tasks])
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 250)
    return () => clearInterval(timer)
  }, [])

  const saveKey = (e: Event) => {
    e.preventDefault()
    const trimmed = keyDraft.trim()
    setKey(trimmed)
    if (trimmed === "") sessionStorage.removeItem(keyStore)
    else sessionStorage.setItem(keyStore, trimmed)
    setRefusal(undefined)
  }

  const update = (id: string, patch: Partial<Current>) =>
    setCurrent((c) => (c?.entry.id === id ? { ...c, ...patch } : c))

  /** Follows a task with long-polls until it ends (or another task is opened). */
  const watch = async (entry: TaskEntry) => {
    watching.current?.abort()
    const controller = new AbortController()
    watching.current = controller
    setCurrent({ entry, media: media.current.get(entry.id) })
    try {
      for (;;) {
        const answer = await Api.result(entry.id, key, 25, controller.signal)
        if (controller.signal.aborted) return
        if (!answer.ok) {
          update(entry.id, { failure: answer.failure })
          return
        }
        const data = answer.value
        setTasks((list) => list.map((t) => (t.id === entry.id ? { ...t, status: data.status } : t)))
        const ended = terminal(data.status)
        const finished = data.result?.finished_at ? Timestamp.parseUtc(data.result.finished_at) : undefined
        update(entry.id, {
          data,
          ...(ended ? { endedAt: Date.now() } : {}),
          ...(data.status === "succeeded" ? { succeededAt: finished ?? Date.now() } : {})
        })
        if (ended) return
      }
    } catch {
      // aborted: another task was opened
    }
  }

  const start = async (kind: Api.Kind, mediaUrl: string, name: string, preview: string | undefined) => {
    setBusy("creating the task")
    const created = await Api.create(kind, mediaUrl, key)
    setBusy(undefined)
    if (!created.ok) return setRefusal(created.failure)
    const entry: TaskEntry = { id: created.value.detect_task_id, name, kind, createdAt: Date.now(), status: "starting" }
    if (preview !== undefined) media.current.set(entry.id, preview)
    setTasks((list) => [entry, ...list])
    void watch(entry)
  }

  const send = async (file: File) => {
    setRefusal(undefined)
    setBusy(`uploading ${file.name}`)
    const uploaded = await Api.upload(file, key)
    setBusy(undefined)
    if (!uploaded.ok) return setRefusal(uploaded.failure)
    const format = typeof uploaded.value.format === "string" ? uploaded.value.format : undefined
    await start(Api.kindOf(format, file.type), uploaded.value.url, file.name, URL.createObjectURL(file))
  }

  const submitUrl = (e: Event) => {
    e.preventDefault()
    const trimmed = url.trim()
    if (trimmed === "") return
    setRefusal(undefined)
    void start(Api.kindOfUrl(trimmed), trimmed, trimmed, trimmed)
  }

  const onDrop = (e: DragEvent) => {
    e.preventDefault()
    setDragging(false)
    const file = e.dataTransfer?.files[0]
    if (file) void send(file)
  }

  const data = current?.data
  const elapsed = current ? (current.endedAt ?? now) - current.entry.createdAt : 0
  const expiresAt = current?.succeededAt !== undefined ? current.succeededAt + 3_600_000 : undefined

  return (
    <main>
      <header>
        <h1>facedet console</h1>
        <nav>
          <a href="/docs">API reference</a>
        </nav>
      </header>

      <form class="card key" onSubmit={saveKey}>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autocomplete="off"
          placeholder="x-api-key"
          value={keyDraft}
          onInput={(e) => setKeyDraft((e.target as HTMLInputElement).value)}
        />
        <button type="submit">{key ? "Change key" : "Use key"}</button>
        <p class="hint">Kept in this tab's session storage only, sent as the x-api-key header.</p>
      </form>

      <section
        class={`card drop${dragging ? " dragging" : ""}`}
        onDragOver={(e) => {
          e.preventDefault()
          setDragging(true)
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        aria-label="Media to detect"
      >
        <label class="file">
          <span>Drop a photo, video or GIF here, or pick one</span>
          <input
            type="file"
            accept="image/*,video/*"
            disabled={!key || busy !== undefined}
            onChange={(e) => {
              const file = (e.target as HTMLInputElement).files?.[0]
              if (file) void send(file)
              ;(e.target as HTMLInputElement).value = ""
            }}
          />
        </label>
        <form class="url" onSubmit={submitUrl}>
          <label for="media-url">or a media URL</label>
          <input
            id="media-url"
            type="url"
            placeholder="https://example.com/group.jpg"
            value={url}
            onInput={(e) => setUrl((e.target as HTMLInputElement).value)}
          />
          <button type="submit" disabled={!key || busy !== undefined}>
            Detect
          </button>
        </form>
        {!key && <p class="hint">Enter an API key first.</p>}
        {busy && (
          <p class="status" role="status">
            {busy}…
          </p>
        )}
        {refusal && <Refusal failure={refusal} />}
      </section>

      {current && (
        <section class="card task" aria-live="polite">
          <h2>
            Task <code>{current.entry.id}</code>
          </h2>
          <p class="status">
            <span class={`badge ${data?.status ?? "starting"}`} data-status={data?.status ?? "starting"}>
              {data?.status ?? "starting"}
            </span>{" "}
            {seconds(elapsed)} {current.entry.kind === "video" ? "(video)" : ""}
          </p>
          {current.failure && <Refusal failure={current.failure} />}
          {data?.status === "failed" && data.error && (
            <div class="error" role="alert" data-error-code={data.error.code}>
              <strong>{errorWords[data.error.code] ?? "The task failed."}</strong>
              <p>
                <code>{data.error.code}</code>: {data.error.message}
              </p>
            </div>
          )}
          {data?.status === "succeeded" && data.result && (
            <>
              <p class="detect-id">
                detect_id <code>{data.result.id}</code> {expiresAt !== undefined && <Expiry at={expiresAt} now={now} />}
              </p>
              <Faces kind={current.entry.kind} media={current.media} faces={data.result.faces} />
            </>
          )}
          {data && <RawJson data={data} />}
        </section>
      )}

      {tasks.length > 0 && (
        <section class="card tasks">
          <h2>This session's tasks</h2>
          <ul>
            {tasks.map((t) => (
              <li key={t.id}>
                <button
                  type="button"
                  class={current?.entry.id === t.id ? "open" : ""}
                  onClick={() => void watch(t)}
                  data-task-id={t.id}
                >
                  <span class={`badge ${t.status}`}>{t.status}</span> <span class="name">{t.name}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  )
}

const Refusal = ({ failure }: { readonly failure: Api.Failure }) => (
  <div class="error" role="alert" data-refusal={failure.code}>
    <strong>
      {failure.code > 0 ? `${failure.code}: ` : ""}
      {failure.message}
    </strong>
    <p>{Api.advice(failure)}</p>
  </div>
)

const Expiry = ({ at, now }: { readonly at: number; readonly now: number }) => {
  const left = Math.max(0, at - now)
  const minutes = Math.floor(left / 60_000)
  const secondsLeft = Math.floor((left % 60_000) / 1000)
  return left > 0 ? (
    <span class="hint">
      valid for {minutes}:{String(secondsLeft).padStart(2, "0")}
    </span>
  ) : (
    <span class="hint expired">expired: detect again before a swap</span>
  )
}

const RawJson = ({ data }: { readonly data: unknown }) => {
  const [copied, setCopied] = useState(false)
  const text = JSON.stringify(data, null, 2)
  return (
    <details class="raw">
      <summary>Raw JSON</summary>
      <button
        type="button"
        onClick={() =>
          void navigator.clipboard?.writeText(text).then(
            () => setCopied(true),
            () => setCopied(false)
          )
        }
      >
        {copied ? "Copied" : "Copy"}
      </button>
      <pre>{text}</pre>
    </details>
  )
}
