/**
 * The browser cost of the Promise client: a minimal `detectFaces` program bundled for the browser (esbuild, ESM,
 * minified, tree-shaken), its size raw and gzipped, and the same for `verifyWebhook` alone. The figures go into
 * node-client's README.
 */
import { gzipSync } from "node:zlib"
import { build } from "esbuild"

const programs = {
  detectFaces: `import { createFaceDetClient } from "@facedet/node-client"
const client = createFaceDetClient({ apiKey: "key", baseUrl: location.origin })
client.detectFaces({ imageUrl: "https://example.com/group.jpg" }).then((done) => console.log(done.result.faces.length))`,
  verifyWebhook: `import { verifyWebhook } from "@facedet/node-client"
export const handle = async (request) => verifyWebhook(await request.text(), request.headers, "whsec_x")`,
  "verifyWebhook (deep import)": `import { verifyWebhook } from "@facedet/node-client/Webhook"
export const handle = async (request) => verifyWebhook(await request.text(), request.headers, "whsec_x")`
}

const main = async () => {
  const rows: Array<[string, string, string]> = [["program", "minified", "gzipped"]]
  for (const [name, contents] of Object.entries(programs)) {
    const result = await build({
      stdin: { contents, resolveDir: process.cwd(), loader: "js" },
      bundle: true,
      minify: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      write: false,
      logLevel: "error"
    })
    const bytes = result.outputFiles[0]!.contents
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`
    rows.push([name, kb(bytes.length), kb(gzipSync(bytes, { level: 9 }).length)])
  }
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)))
  for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c]!)).join("  "))
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
