/**
 * The response envelope every crun.ai (and facedet server) answer is wrapped in: `{code, message, data}`.
 *
 * `code` in the body is authoritative; whether the HTTP status mirrors it is undocumented for crun.ai
 * (the facedet server mirrors it), so clients read the body first.
 *
 * @since 0.1.0
 */
import { z } from "zod"
import * as internal from "./internal/code.js"

/**
 * Envelope codes documented by crun.ai.
 *
 * @since 0.1.0
 * @category Models
 */
export const Code: typeof internal.Code = internal.Code

/**
 * @since 0.1.0
 * @category Models
 */
export type Code = (typeof Code)[keyof typeof Code]

/**
 * An envelope whose `data` is not yet decoded: what a client reads first.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const RawEnvelope = z
  .looseObject({
    code: z.int(),
    message: z.string(),
    data: z.unknown()
  })
  .meta({ id: "Envelope", description: "Every answer: `code` (200 on success), a message, and the call's `data`." })

/**
 * @since 0.1.0
 * @category Models
 */
export type RawEnvelope = z.infer<typeof RawEnvelope>

/**
 * The successful envelope of a call whose `data` has the given schema.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const success = <T extends z.ZodType>(data: T) =>
  z.looseObject({
    code: z.literal(200),
    message: z.string(),
    data
  })

/**
 * An error envelope (`data` is null on every documented error).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ErrorEnvelope = z
  .looseObject({
    code: z.int().refine((c) => c !== 200, "an error envelope has a code other than 200"),
    message: z.string(),
    data: z.null()
  })
  .meta({ id: "ErrorEnvelope" })

/**
 * Wraps `data` in a success envelope.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const ok = <A>(data: A): { readonly code: 200; readonly message: "success"; readonly data: A } => ({
  code: 200,
  message: "success",
  data
})

/**
 * An error envelope for `code` with a message.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const fail = (
  code: number,
  message: string
): { readonly code: number; readonly message: string; readonly data: null } => ({ code, message, data: null })
