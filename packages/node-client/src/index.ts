/**
 * @facedet/node-client: one typed client for crun.ai and the self-hosted facedet server, for Effect programs
 * (`FaceDetClient`) and plain Promise code (`createFaceDetClient`). No Node-only imports here: the undici layer
 * lives in `@facedet/node-client/node`.
 *
 * @since 0.1.0
 */

/** The Effect service: `FaceDetClient.FaceDetClient` (tag), `make`, `layer`, `layerConfig`, `layerFetch`... */
export * as FaceDetClient from "./FaceDetClient.js"
/** The facedet server's upload call: `UploadData`, accepted content types. */
export * as Upload from "./Upload.js"
/** Receiving callbacks: `Webhook.verify` (Effect), `verifyWebhook` (Promise), their typed errors. */
export * as Webhook from "./Webhook.js"
export { isVerifyError as isWebhookVerifyError, verifyWebhook } from "./Webhook.js"

// The Promise API, flat.
export {
  type CallOptions,
  type ClientOptions,
  type CreateCallOptions,
  createFaceDetClient,
  type DetectFacesCallOptions,
  type PromiseClient,
  type UploadCallOptions,
  type WaitCallOptions
} from "./PromiseClient.js"
export {
  FaceDetError,
  isDecodeError,
  isDetectionFailed,
  isFaceDetError,
  isFeatureDisabled,
  isGenerationFailed,
  isInsufficientCredits,
  isNotFound,
  isRateLimited,
  isServerError,
  isServiceUnavailable,
  isTransportError,
  isUnauthorized,
  isUnknownApiError,
  isValidationError,
  isWaitTimeout,
  type Tag,
  type Tagged
} from "./FaceDetError.js"
