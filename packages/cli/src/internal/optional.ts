/**
 * Loads a package the CLI lists as an optional peer (`@facedet/detector`, `@facedet/http-server`). A user who only
 * talks to a server never installs them; when a command needs one that is missing, they get a typed error that
 * names the package and how to install it, not a stack trace.
 */
import * as Effect from "effect/Effect"
import { OptionalPackageMissing } from "../CliError.js"

/** Whether an import failed because `packageName` itself is not installed (not a module it imports in turn). */
export const isMissing = (cause: unknown, packageName: string): boolean =>
  typeof cause === "object" &&
  cause !== null &&
  (cause as { code?: unknown }).code === "ERR_MODULE_NOT_FOUND" &&
  String((cause as { message?: unknown }).message).includes(`'${packageName}'`)

/** Runs `load` (a dynamic import); a missing `packageName` fails with `OptionalPackageMissing`, anything else dies. */
export const load = <A>(
  packageName: string,
  feature: string,
  load: () => Promise<A>
): Effect.Effect<A, OptionalPackageMissing> =>
  Effect.tryPromise({ try: load, catch: (cause) => cause }).pipe(
    Effect.catchAll((cause) =>
      isMissing(cause, packageName)
        ? Effect.fail(new OptionalPackageMissing({ packageName, feature, cause }))
        : Effect.die(cause)
    )
  )
