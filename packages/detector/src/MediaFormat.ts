/**
 * What a file is, from its first bytes. It lives in `@facedet/core` (the CLI sniffs without loading the detector);
 * this module keeps `@facedet/detector/MediaFormat` working.
 */
export * from "@facedet/core/MediaFormat"
