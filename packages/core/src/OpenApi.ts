/**
 * The OpenAPI 3.1 document of the face-detection API, generated from the same zod schemas that decode the wire:
 * one source of truth for the client, the server and the published contract.
 *
 * @since 0.1.0
 */
import * as Webhook from "./Webhook.js"
import { z } from "zod"
import * as DetectTask from "./DetectTask.js"
import { paths } from "./Endpoints.js"
import * as Envelope from "./Envelope.js"
import * as SwapTask from "./SwapTask.js"
import { UploadData } from "./Upload.js"

type JsonObject = { [key: string]: unknown }

/**
 * The JSON Schema (draft 2020-12) of a wire schema, with named sub-schemas under `$defs`.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const jsonSchema = (schema: z.ZodType, io: "input" | "output" = "output"): JsonObject =>
  z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "any" }) as JsonObject

const named: ReadonlyArray<readonly [string, z.ZodType, "input" | "output"]> = [
  ["Envelope", Envelope.RawEnvelope, "output"],
  ["ErrorEnvelope", Envelope.ErrorEnvelope, "output"],
  ["CreateImageDetection", DetectTask.CreateImageBody, "input"],
  ["CreateVideoDetection", DetectTask.CreateVideoBody, "input"],
  ["CreateDetectionData", DetectTask.CreateData, "output"],
  ["DetectionResultData", DetectTask.ResultData, "output"],
  ["CreateSwapTask", SwapTask.CreateTaskBody, "input"],
  ["CreateTaskData", SwapTask.CreateTaskData, "output"],
  ["TaskInfoData", SwapTask.TaskInfoData, "output"],
  ["UploadData", UploadData, "output"],
  ["DetectionWebhook", Webhook.Payload, "output"]
]

const rewriteRefs = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(rewriteRefs)
  if (value === null || typeof value !== "object") return value
  const out: JsonObject = {}
  for (const [k, v] of Object.entries(value)) {
    if (k === "$schema") continue
    out[k] = k === "$ref" && typeof v === "string" ? v.replace("#/$defs/", "#/components/schemas/") : rewriteRefs(v)
  }
  return out
}

const components = (): Record<string, unknown> => {
  const schemas: Record<string, unknown> = {}
  for (const [name, schema, io] of named) {
    const { $defs, ...root } = jsonSchema(schema, io) as JsonObject & { $defs?: Record<string, unknown> }
    for (const [id, def] of Object.entries($defs ?? {})) schemas[id] = rewriteRefs(def)
    if (!("$ref" in root)) schemas[name] = rewriteRefs(root)
  }
  return Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)))
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })

const envelopeOf = (dataSchema: string) => ({
  allOf: [
    ref("Envelope"),
    { type: "object", properties: { code: { const: 200 }, data: ref(dataSchema) }, required: ["data"] }
  ]
})

const errors = (...codes: ReadonlyArray<number>) =>
  Object.fromEntries(
    codes.map((code) => [
      String(code),
      {
        description: errorDescriptions[code] ?? `error ${code}`,
        content: { "application/json": { schema: ref("ErrorEnvelope") } }
      }
    ])
  )

const errorDescriptions: Record<number, string> = {
  401: "API key missing or invalid",
  402: "Insufficient credits",
  404: "Unknown task or route",
  422: "Invalid body, query or URL",
  429: "Rate limited or queue full; see Retry-After",
  455: "Service unavailable (maintenance, or draining for shutdown); see Retry-After",
  500: "Server error",
  505: "Feature disabled on this server"
}

const ok = (description: string, dataSchema: string) => ({
  "200": { description, content: { "application/json": { schema: envelopeOf(dataSchema) } } }
})

const jsonBody = (schema: string) => ({
  required: true,
  content: { "application/json": { schema: ref(schema) } }
})

const idempotencyKey = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description:
    "facedet extension: the same key with the same body returns the same task (a different body is a 422); " +
    "servers that do not know it ignore it",
  schema: { type: "string", maxLength: 255 }
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  readonly title?: string
  readonly version?: string
  /** Server URLs to list (default: crun.ai). */
  readonly servers?: ReadonlyArray<string>
}

/**
 * The OpenAPI 3.1 document. facedet-only extensions (long-polling, idempotency keys, uploads, callbacks) are marked
 * `x-facedet: true`; crun.ai ignores them.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const document = (options: Options = {}): JsonObject => ({
  openapi: "3.1.0",
  info: {
    title: options.title ?? "Face detection API (crun.ai wire format)",
    version: options.version ?? "1",
    description:
      "Create a face-detection task for an image or a video/GIF URL, poll its result through " +
      "starting -> processing -> succeeded | failed, and get a detect_id (valid one hour) and a crop of every face. " +
      "Every answer is the envelope {code, message, data}; read `code` from the body."
  },
  servers: (options.servers ?? ["https://api.crun.ai"]).map((url) => ({ url })),
  security: [{ apiKey: [] }],
  paths: {
    [paths.createImage]: {
      post: {
        operationId: "createImageDetection",
        summary: "Create a face-detection task for an image URL",
        parameters: [{ ...idempotencyKey, "x-facedet": true }],
        requestBody: jsonBody("CreateImageDetection"),
        responses: { ...ok("The task was accepted", "CreateDetectionData"), ...errors(401, 402, 422, 429, 455, 500) }
      }
    },
    [paths.createVideo]: {
      post: {
        operationId: "createVideoDetection",
        summary: "Create a face-detection task for a video or animated GIF/WebP URL",
        parameters: [{ ...idempotencyKey, "x-facedet": true }],
        requestBody: jsonBody("CreateVideoDetection"),
        responses: { ...ok("The task was accepted", "CreateDetectionData"), ...errors(401, 402, 422, 429, 455, 500) }
      }
    },
    [paths.result]: {
      get: {
        operationId: "getDetectionResult",
        summary: "Get a detection task's status and, once succeeded, its faces",
        parameters: [
          { name: "detect_task_id", in: "query", required: true, schema: { type: "string", minLength: 1 } },
          {
            name: "wait",
            in: "query",
            required: false,
            "x-facedet": true,
            description:
              "facedet extension (advertised by the x-facedet-long-poll response header): hold the request " +
              "up to this many seconds until the task is terminal",
            schema: { type: "number", minimum: 0, maximum: 30 }
          }
        ],
        responses: { ...ok("The task's current state", "DetectionResultData"), ...errors(401, 404, 422, 429, 455, 500) }
      }
    },
    [paths.createTask]: {
      post: {
        operationId: "createTask",
        summary: "Create a face-swap task (crun.ai; a facedet server answers 505)",
        requestBody: jsonBody("CreateSwapTask"),
        responses: { ...ok("The task was accepted", "CreateTaskData"), ...errors(401, 402, 422, 429, 455, 500, 505) }
      }
    },
    [paths.taskInfo]: {
      get: {
        operationId: "getTaskInfo",
        summary: "Get any task's status (crun.ai; a facedet server answers 505)",
        parameters: [{ name: "task_id", in: "query", required: true, schema: { type: "string", minLength: 1 } }],
        responses: { ...ok("The task's current state", "TaskInfoData"), ...errors(401, 404, 422, 429, 455, 500, 505) }
      }
    },
    [paths.upload]: {
      post: {
        operationId: "upload",
        summary: "facedet: upload media bytes and get a URL usable as image_url / video_url for one hour",
        "x-facedet": true,
        requestBody: {
          required: true,
          content: {
            "application/octet-stream": { schema: { type: "string", contentMediaType: "application/octet-stream" } },
            "image/*": { schema: { type: "string", contentMediaType: "image/*" } },
            "video/*": { schema: { type: "string", contentMediaType: "video/*" } }
          }
        },
        responses: { ...ok("Stored", "UploadData"), ...errors(401, 422, 429, 455, 500) }
      }
    }
  },
  webhooks: {
    detectionEnded: {
      post: {
        operationId: "detectionEnded",
        summary: "facedet: the callback of a task created with callback_url, POSTed once it ends",
        description:
          "Signed the Standard Webhooks way (HMAC-SHA256 of `id.timestamp.body` with the API key's whsec_ secret). " +
          "Delivered at least once: answer 2xx; 408, 429, 5xx and no answer are retried with backoff for 24 hours; " +
          "other answers end the delivery. De-duplicate on webhook-id.",
        "x-facedet": true,
        parameters: [
          { name: Webhook.headers.id, in: "header", required: true, schema: { type: "string" } },
          { name: Webhook.headers.timestamp, in: "header", required: true, schema: { type: "string" } },
          { name: Webhook.headers.signature, in: "header", required: true, schema: { type: "string" } }
        ],
        requestBody: jsonBody("DetectionWebhook"),
        responses: { "200": { description: "received (any 2xx)" } }
      }
    }
  },
  components: {
    securitySchemes: { apiKey: { type: "apiKey", in: "header", name: "x-api-key" } },
    schemas: components()
  }
})
