/**
 * @facedet/core: the rules of a face-detection task, shared by the client, the server and the CLI.
 *
 * @since 0.1.0
 */

/** The response envelope `{code, message, data}` and its codes. */
export * as Envelope from "./Envelope.js"
/** One detected face on the wire, with facedet's optional box, score and landmarks. */
export * as Face from "./Face.js"
/** Wire schemas of the detection calls: create bodies and answers, result data in every state. */
export * as DetectTask from "./DetectTask.js"
/** facedet's upload call: its answer, accepted content types, how long the URL lasts. */
export * as Upload from "./Upload.js"
/** Wire schemas of the swap calls (`CreateTask`) and `TaskInfo`. */
export * as SwapTask from "./SwapTask.js"
/** The task-status state machine and the check of an observed status sequence. */
export * as TaskStatus from "./TaskStatus.js"
/** The error codes of a failed task. */
export * as TaskErrorCode from "./TaskErrorCode.js"
/** The error taxonomy: one tagged error per envelope code, plus transport, decoding, task and wait failures. */
export * as FaceDetError from "./FaceDetError.js"
/** The retry schedule and Retry-After parsing. */
export * as RetryPolicy from "./RetryPolicy.js"
/** The polling schedule and wait deadlines. */
export * as PollPolicy from "./PollPolicy.js"
/** How long a detect_id can be used, and whether a swap's media matches the detection. */
export * as DetectId from "./DetectId.js"
/** The wire timestamp format. */
export * as Timestamp from "./Timestamp.js"
/** Task id shapes and their generation from random bytes. */
export * as TaskId from "./TaskId.js"
/** API paths and header names. */
export * as Endpoints from "./Endpoints.js"
/** Decoding wire bodies into typed values or readable errors. */
export * as Wire from "./Wire.js"
/** The OpenAPI 3.1 document, generated from the wire schemas. */
export * as OpenApi from "./OpenApi.js"
/** Signed callbacks of ended tasks (Standard Webhooks): payload, signing, verification, retry delays. */
export * as Webhook from "./Webhook.js"
export * as MediaFormat from "./MediaFormat.js"
