/**
 * What every runtime must do with the Promise client against a real facedet server: the same checks on Node, Bun,
 * Deno and in Chromium, and in the packed-install test. Plain JavaScript with no imports: each runner hands in
 * `createFaceDetClient` (imported the way that runtime resolves packages) and the bytes of a photo.
 *
 * Returns a JSON-able report; the runner prints it and the test asserts on it, so a check that throws names itself.
 */
export const check = async (createFaceDetClient, { baseUrl, apiKey, image, fromEnvironment = false }) => {
  const report = {}
  const step = async (name, run) => {
    try {
      report[name] = await run()
    } catch (error) {
      report[name] = { threw: { tag: error?._tag ?? null, message: String(error?.message ?? error) } }
    }
  }
  // Options omitted: FACEDET_API_KEY and FACEDET_BASE_URL, where the runtime has an environment.
  // Counts the result calls: a client that long-polls needs one or two for a task that ends in under a second.
  let resultCalls = 0
  const counting = (input, init) => {
    if (String(input instanceof Request ? input.url : input).includes("detect-face-result")) resultCalls += 1
    return globalThis.fetch(input, init)
  }
  const client = fromEnvironment
    ? createFaceDetClient({ fetch: counting })
    : createFaceDetClient({ baseUrl, apiKey, fetch: counting })
  report.baseUrl = client.baseUrl
  await step("serverInfo", async () => {
    const info = await client.serverInfo()
    return { facedet: info.facedet, longPollSeconds: info.longPollSeconds ?? null }
  })
  await step("detect", async () => {
    const { url } = await client.uploadMedia(image, "image/jpeg")
    const before = resultCalls
    const done = await client.detectFaces({ imageUrl: url }, { timeoutMs: 60_000 })
    return { status: done.status, faces: done.result.faces.length, resultCalls: resultCalls - before }
  })
  await step("badKey", async () => {
    const bad = createFaceDetClient({ baseUrl: client.baseUrl, apiKey: "fd_not_a_key_of_this_server" })
    try {
      await bad.getResult("dt_nothing")
      return { rejected: false }
    } catch (error) {
      return { rejected: true, tag: error?._tag ?? null }
    }
  })
  await step("abort", async () => {
    const controller = new AbortController()
    const started = Date.now()
    const pending = client.detectFaces({ imageUrl: "https://example.invalid/never.jpg" }, { signal: controller.signal })
    controller.abort()
    try {
      await pending
      return { rejected: false }
    } catch (error) {
      return { rejected: true, tag: error?._tag ?? null, reason: error?.reason ?? null, ms: Date.now() - started }
    }
  })
  // The client still works after an aborted call.
  await step("after", async () => {
    const { url } = await client.uploadMedia(image, "image/jpeg")
    const created = await client.detectImage(url)
    const done = await client.waitForResult(created.detect_task_id, { timeoutMs: 60_000 })
    return { status: done.status, faces: done.result.faces.length }
  })
  return report
}
