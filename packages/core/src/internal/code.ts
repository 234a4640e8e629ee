// The envelope codes, apart from the zod schemas of Envelope.ts, so that the error taxonomy loads without zod.
export const Code = {
  Ok: 200,
  Unauthorized: 401,
  InsufficientCredits: 402,
  NotFound: 404,
  ValidationError: 422,
  RateLimited: 429,
  ServiceUnavailable: 455,
  ServerError: 500,
  GenerationFailed: 501,
  FeatureDisabled: 505
} as const
