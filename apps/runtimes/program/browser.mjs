/** The check program in a browser page: bundled with the client, it exposes `runCheck` to the test. */
import { createFaceDetClient } from "@facedet/node-client"
import { check } from "./check.mjs"

globalThis.runCheck = async (baseUrl, apiKey, imageUrl) => {
  const image = new Uint8Array(await (await fetch(imageUrl)).arrayBuffer())
  return check(createFaceDetClient, { baseUrl, apiKey, image })
}
