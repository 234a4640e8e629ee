/**
 * `facedet detect <url-or-path>`: create an image or video detection and wait for it, against crun.ai or a facedet
 * server (a local file is uploaded to a facedet server first), or run the detector in this process (`--local`).
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import { FaceDetClient } from "@facedet/node-client"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { UploadUnsupported, UsageError } from "./CliError.js"
import * as FaceCrops from "./FaceCrops.js"
import * as HumanDuration from "./HumanDuration.js"
import * as Optional from "./internal/optional.js"
import { present, validityOf } from "./internal/present.js"
import type { Reported } from "./internal/report.js"
import { report } from "./internal/report.js"
import { untilEnded } from "./internal/waiting.js"
import * as LocalMedia from "./LocalMedia.js"
import * as MediaKind from "./MediaKind.js"
import { Output } from "./Output.js"
import * as Render from "./Render.js"
import * as Target from "./Target.js"

/**
 * The parsed command line of `facedet detect`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Args {
  /** A media URL or a local path. */
  readonly source: string
  readonly target: Target.Target
  /** `--video` / `--image`: overrides what the URL or the bytes say. */
  readonly kind: Option.Option<MediaKind.Kind>
  /** False with `--no-wait`. */
  readonly wait: boolean
  readonly json: boolean
  /** The overall wait deadline; `Duration.infinity` for `--timeout 0`. */
  readonly timeout: Option.Option<Duration.Duration>
  readonly local: boolean
  /** `--out`: where crops go (written by `--local`, downloaded otherwise). */
  readonly outDir: Option.Option<string>
  /** `--callback-url`: the server POSTs a signed webhook there when the task ends. */
  readonly callbackUrl?: Option.Option<string> | undefined
  /** `--embeddings`: each face's embedding in the result (`--local`, or a facedet server; crun.ai has none). */
  readonly embeddings?: boolean | undefined
}

/**
 * Runs the command.
 *
 * @since 0.1.0
 * @category Handlers
 */
export const run = (
  args: Args
): Effect.Effect<void, Reported, Output | HttpClient.HttpClient | FileSystem.FileSystem> => {
  if (args.local) {
    const refused = !args.wait
      ? "--local cannot be combined with --no-wait"
      : args.callbackUrl !== undefined && Option.isSome(args.callbackUrl)
        ? "--callback-url needs a server (callbacks are sent by the server that runs the task); drop --local"
        : undefined
    return (refused === undefined ? local(args) : Effect.fail(new UsageError({ message: refused }))).pipe(report({}))
  }
  if (args.embeddings === true && Target.isCrunAi(args.target)) {
    return Effect.fail(
      new UsageError({
        message: `${args.target.baseUrl} does not return embeddings: use a facedet server (--base-url) or --local`
      })
    ).pipe(report({}))
  }
  return remote(args).pipe(report(Target.errorContext(args.target)))
}

const remote = (args: Args) =>
  Effect.gen(function* () {
    // The media argument first: a missing file, a PDF, or any file for crun.ai is answered before a key is needed.
    const source = yield* LocalMedia.classify(args.source)
    const media = source._tag === "Url" ? source.url : yield* LocalMedia.openFile(source.path, args.source)
    if (!(media instanceof URL) && Target.isCrunAi(args.target)) {
      return yield* new UploadUnsupported({ baseUrl: args.target.baseUrl, path: args.source })
    }
    yield* detect(args, media).pipe(Effect.provide(Target.clientLayer(args.target)))
  })

const detect = (args: Args, media: URL | LocalMedia.Media) =>
  Effect.gen(function* () {
    const client = yield* FaceDetClient.FaceDetClient
    const output = yield* Output
    const { url, kind } = media instanceof URL ? fromUrl(args, media) : yield* upload(args, media)
    const createOptions = {
      ...(args.callbackUrl !== undefined && Option.isSome(args.callbackUrl)
        ? { callbackUrl: args.callbackUrl.value }
        : {}),
      ...(args.embeddings === true ? { embeddings: true } : {})
    }
    // A key's first callback answers its signing secret, once: it must reach the user whatever else is printed.
    const showSecret = (created: { readonly webhook_secret?: unknown }) =>
      typeof created.webhook_secret === "string"
        ? output.err(
            `webhook signing secret for this API key (shown only this once; verify callbacks with it): ${created.webhook_secret}`
          )
        : Effect.void
    if (!args.wait) {
      const created = yield* kind === "image"
        ? client.detectImage(url, createOptions)
        : client.detectVideo(url, createOptions)
      if (!args.json) yield* showSecret(created)
      yield* output.out(args.json ? Render.json(created) : created.detect_task_id)
      return
    }
    const done = yield* untilEnded((hooks) =>
      client.detectFaces(kind === "image" ? { imageUrl: url } : { videoUrl: url }, {
        kind,
        ...(Option.isSome(args.timeout) ? { timeout: args.timeout.value } : {}),
        ...createOptions,
        ...hooks,
        onCreated: (created) => Effect.zipRight(showSecret(created), hooks.onCreated(created))
      })
    )
    yield* present(done, { json: args.json, validity: done.result ? yield* validityOf(done.result.id) : undefined })
    if (Option.isSome(args.outDir) && done.result) {
      const saved = yield* FaceCrops.saveAll(done.result.faces, args.outDir.value, args.target)
      yield* output.err(`saved ${saved.length} face crop${saved.length === 1 ? "" : "s"} to ${args.outDir.value}`)
    }
  })

const fromUrl = (args: Args, url: URL) => ({
  url: url.href,
  kind: Option.getOrElse(args.kind, () => MediaKind.ofUrl(url))
})

/** Uploads a local file to a facedet server; the URL it answers is what gets detected. */
const upload = (args: Args, media: LocalMedia.Media) =>
  Effect.gen(function* () {
    if (!(yield* Target.isFacedetServer(args.target))) {
      return yield* new UploadUnsupported({ baseUrl: args.target.baseUrl, path: args.source })
    }
    const client = yield* FaceDetClient.FaceDetClient
    const output = yield* Output
    const uploading = `uploading ${args.source} (${humanBytes(media.size)}) to ${args.target.baseUrl}`
    yield* output.interactive ? output.status(uploading) : output.err(uploading)
    const uploaded = yield* client
      .uploadMedia(yield* media.bytes, media.contentType, { timeout: uploadTimeout(media.size) })
      .pipe(
        Effect.catchTag("NotFound", () =>
          Effect.fail(new UploadUnsupported({ baseUrl: args.target.baseUrl, path: args.source }))
        ),
        Effect.onInterrupt(() => output.clearStatus)
      )
    return { url: uploaded.url, kind: Option.getOrElse(args.kind, () => media.kind) }
  })

const humanBytes = (bytes: number): string =>
  bytes < 1024 * 1024 ? `${Math.max(1, Math.round(bytes / 1024))} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`

/** 30 s plus a second per MiB: a slow uplink should not fail a large video's upload. */
const uploadTimeout = (bytes: number): Duration.Duration => Duration.seconds(30 + Math.ceil(bytes / (1024 * 1024)))

const local = (args: Args) =>
  Effect.gen(function* () {
    const output = yield* Output
    // Loaded only here: the detector (an optional peer) brings onnxruntime and sharp, which other commands do not need.
    const Local = yield* Optional.load(
      "@facedet/detector",
      "facedet detect --local",
      () => import("./LocalDetection.js")
    )
    yield* output.status(`detecting faces in ${args.source} on this machine`)
    const started = Date.now()
    const outcome = yield* Local.detect({
      source: args.source,
      kind: Option.getOrUndefined(args.kind),
      outDir: Option.getOrUndefined(args.outDir),
      embeddings: args.embeddings === true
    }).pipe(
      Effect.provide(Local.detectorLayer),
      // Ctrl-C included: the shell prompt should not land on a stale status line.
      Effect.ensuring(output.clearStatus)
    )
    yield* present(outcome.data, { json: args.json, validity: "local" })
    if (!args.json) yield* output.err(`crops in ${outcome.outDir} (${HumanDuration.format(Date.now() - started)})`)
  })
