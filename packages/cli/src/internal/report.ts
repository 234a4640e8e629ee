/**
 * How a command ends on a failure: the error is printed on stderr once (with hints that know the target), and the
 * command fails with `Reported`, which only carries the exit code up to the process.
 */
import * as FaceDetError from "@facedet/core/FaceDetError"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as ExitCode from "../ExitCode.js"
import { Output } from "../Output.js"
import * as Render from "../Render.js"

/** A failure already printed; `code` is the process exit code. */
export class Reported extends Data.TaggedError("Reported")<{ readonly code: ExitCode.ExitCode }> {}

/** The exit code of a failure the command knows. */
export const exitCodeOf = (error: Render.Renderable): ExitCode.ExitCode =>
  FaceDetError.isFaceDetError(error) ? ExitCode.ofFaceDetError(error) : ExitCode.ofCliError(error)

/** Prints a failure (a `FaceDetError` or the command's own) and turns it into `Reported`. */
export const report =
  (context: Render.ErrorContext = {}) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, Reported | Exclude<E, Render.Renderable>, R | Output> =>
    Effect.catchIf(
      self,
      (e): e is Extract<E, Render.Renderable> => Render.isRenderable(e),
      (error) =>
        Effect.gen(function* () {
          const output = yield* Output
          for (const line of Render.error(error, context)) yield* output.err(line)
          return yield* new Reported({ code: exitCodeOf(error) })
        })
    ) as Effect.Effect<A, Reported | Exclude<E, Render.Renderable>, R | Output>
