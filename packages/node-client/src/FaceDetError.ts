/**
 * Recognising the client's errors in Promise code. Every rejection of the Promise API is an error of
 * `@facedet/core`'s taxonomy (a `Data.TaggedError`, hence an `Error`, with a `_tag`).
 *
 * `FaceDetError` is a value usable with `instanceof` whose check is {@link isFaceDetError}: identity is the `_tag`,
 * not the class, so it holds across duplicate copies of the packages (two versions installed, ESM and CJS).
 *
 * **Example**
 *
 * ```ts
 * import { FaceDetError, isRateLimited } from "@facedet/node-client"
 *
 * try {
 *   await client.detectFaces({ imageUrl })
 * } catch (e) {
 *   if (isRateLimited(e)) console.log(`retry in ${e.retryAfterMs ?? 1000} ms`)
 *   else if (e instanceof FaceDetError) console.log(e._tag, e.message)
 *   else throw e
 * }
 * ```
 *
 * @since 0.1.0
 */
import { FaceDetError as Core } from "@facedet/core"

/**
 * Any error of the taxonomy (a union of tagged classes; switch on `_tag`).
 *
 * @since 0.1.0
 * @category Models
 */
export type FaceDetError = Core.FaceDetError

/**
 * The tags: `Unauthorized`, `InsufficientCredits`, `NotFound`, `ValidationError`, `RateLimited`,
 * `ServiceUnavailable`, `ServerError`, `GenerationFailed`, `FeatureDisabled`, `TransportError`, `DecodeError`,
 * `DetectionFailed`, `WaitTimeout`, `UnknownApiError`.
 *
 * @since 0.1.0
 * @category Models
 */
export type Tag = Core.Tag

/**
 * The error with a given tag.
 *
 * @since 0.1.0
 * @category Models
 */
export type Tagged<T extends Tag> = Extract<Core.FaceDetError, { readonly _tag: T }>

/**
 * True for any facedet error, including one made by another copy of the packages.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isFaceDetError: (u: unknown) => u is FaceDetError = Core.isFaceDetError

/**
 * `e instanceof FaceDetError` (checks the `_tag`), `FaceDetError.is("RateLimited")(e)`, the list of tags, and
 * whether retrying can help.
 *
 * @since 0.1.0
 * @category Guards
 */
export const FaceDetError: {
  readonly [Symbol.hasInstance]: (u: unknown) => u is FaceDetError
  readonly is: <T extends Tag>(tag: T) => (u: unknown) => u is Tagged<T>
  readonly tags: ReadonlyArray<Tag>
  readonly isRetryable: (error: FaceDetError) => boolean
} = {
  [Symbol.hasInstance]: Core.isFaceDetError,
  is: Core.is,
  tags: Core.tags,
  isRetryable: Core.isRetryable
}

/** @since 0.1.0 @category Guards */
export const isUnauthorized = Core.is("Unauthorized")
/** @since 0.1.0 @category Guards */
export const isInsufficientCredits = Core.is("InsufficientCredits")
/** @since 0.1.0 @category Guards */
export const isNotFound = Core.is("NotFound")
/** @since 0.1.0 @category Guards */
export const isValidationError = Core.is("ValidationError")
/** @since 0.1.0 @category Guards */
export const isRateLimited = Core.is("RateLimited")
/** @since 0.1.0 @category Guards */
export const isServiceUnavailable = Core.is("ServiceUnavailable")
/** @since 0.1.0 @category Guards */
export const isServerError = Core.is("ServerError")
/** @since 0.1.0 @category Guards */
export const isGenerationFailed = Core.is("GenerationFailed")
/** @since 0.1.0 @category Guards */
export const isFeatureDisabled = Core.is("FeatureDisabled")
/** @since 0.1.0 @category Guards */
export const isTransportError = Core.is("TransportError")
/** @since 0.1.0 @category Guards */
export const isDecodeError = Core.is("DecodeError")
/** @since 0.1.0 @category Guards */
export const isDetectionFailed = Core.is("DetectionFailed")
/** @since 0.1.0 @category Guards */
export const isWaitTimeout = Core.is("WaitTimeout")
/** @since 0.1.0 @category Guards */
export const isUnknownApiError = Core.is("UnknownApiError")
