/**
 * The check program for runtimes that resolve `node_modules` (Node, Bun, Deno): prints the report as one JSON line.
 * Arguments, not variables (Deno may run it without environment access): `<jpeg> <baseUrl> <apiKey>`, or
 * `<jpeg> --from-env` to let the client read FACEDET_BASE_URL / FACEDET_API_KEY itself.
 */
import { readFileSync } from "node:fs"
import process from "node:process"
import { createFaceDetClient } from "@facedet/node-client"
import { check } from "./check.mjs"

const [image, baseUrl, apiKey] = process.argv.slice(2)
const report = await check(createFaceDetClient, {
  baseUrl,
  apiKey,
  image: new Uint8Array(readFileSync(image)),
  fromEnvironment: baseUrl === "--from-env"
})
console.log(JSON.stringify(report))
