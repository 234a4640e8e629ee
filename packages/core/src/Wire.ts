/**
 * Decoding wire bodies with the zod schemas into typed values, or into errors that say where the body was wrong
 * (`data.result.faces.0.id: expected number, received string`).
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import type { z } from "zod"
import type { Issue } from "./FaceDetError.js"
import { DecodeError, ValidationError } from "./FaceDetError.js"

/**
 * The issues of a failed parse, with dotted paths under `prefix`.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const issuesOf = (error: z.ZodError, prefix = ""): ReadonlyArray<Issue> =>
  error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter((p) => p !== "").join("."),
    message: issue.message
  }))

/**
 * One line for a list of issues.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const describe = (issues: ReadonlyArray<Issue>): string =>
  issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ")

/**
 * Decodes an answer a client received; failure is a `DecodeError` naming the first wrong field.
 *
 * @since 0.1.0
 * @category Decoding
 */
export const decodeResponse = <T extends z.ZodType>(
  schema: T,
  input: unknown,
  options: { readonly path?: string; readonly httpStatus?: number; readonly what?: string } = {}
): Either.Either<z.output<T>, DecodeError> => {
  const parsed = schema.safeParse(input)
  if (parsed.success) return Either.right(parsed.data)
  const issues = issuesOf(parsed.error, options.path)
  const first = issues[0]
  return Either.left(
    new DecodeError({
      message: `unexpected ${options.what ?? "response"}: ${describe(issues.slice(0, 3))}`,
      ...(first?.path ? { path: first.path } : {}),
      ...(options.httpStatus !== undefined ? { httpStatus: options.httpStatus } : {})
    })
  )
}

/**
 * Decodes a request a server received; failure is a `ValidationError` (422) listing every issue.
 *
 * @since 0.1.0
 * @category Decoding
 */
export const decodeRequest = <T extends z.ZodType>(
  schema: T,
  input: unknown,
  options: { readonly path?: string } = {}
): Either.Either<z.output<T>, ValidationError> => {
  const parsed = schema.safeParse(input)
  if (parsed.success) return Either.right(parsed.data)
  const issues = issuesOf(parsed.error, options.path)
  return Either.left(new ValidationError({ issues }))
}
