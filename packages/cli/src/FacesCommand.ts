/**
 * `facedet faces download <detect_task_id> --out <dir>`: save every face crop of a succeeded task as
 * `face-<id>.jpg`. A failed task is refused with its error; one still running with a hint to wait.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import { FaceDetClient } from "@facedet/node-client"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import { TaskNotSucceeded } from "./CliError.js"
import * as FaceCrops from "./FaceCrops.js"
import type { Reported } from "./internal/report.js"
import { report } from "./internal/report.js"
import { Output } from "./Output.js"
import * as Render from "./Render.js"
import * as ResultCommand from "./ResultCommand.js"
import * as Target from "./Target.js"

/**
 * The parsed command line of `facedet faces download`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface DownloadArgs {
  readonly detectTaskId: string
  readonly target: Target.Target
  readonly outDir: string
  readonly wait: boolean
  readonly json: boolean
  readonly timeout: Option.Option<Duration.Duration>
}

/**
 * Runs `faces download`: prints one line per saved crop (`face 0  /abs/dir/face-0.jpg`), or with `--json` an array
 * of `{ id, link, path }`.
 *
 * @since 0.1.0
 * @category Handlers
 */
export const download = (
  args: DownloadArgs
): Effect.Effect<void, Reported, Output | HttpClient.HttpClient | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const output = yield* Output
    const data = yield* ResultCommand.fetch(args)
    if (data.status === "failed") return yield* FaceDetClient.detectionFailed(data)
    if (data.status !== "succeeded" || !data.result) {
      return yield* new TaskNotSucceeded({ detectTaskId: args.detectTaskId, status: data.status })
    }
    const saved = yield* FaceCrops.saveAll(data.result.faces, args.outDir, args.target)
    if (args.json) {
      yield* output.out(Render.json(saved))
    } else {
      for (const s of saved) yield* output.out(`face ${s.id}  ${s.path}`)
    }
  }).pipe(Effect.provide(Target.clientLayer(args.target)), report(Target.errorContext(args.target)))
