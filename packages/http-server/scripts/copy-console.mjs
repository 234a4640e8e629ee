// Copies the built web console (@facedet/console, a private workspace package built first by turbo) into
// dist/console, so the published package serves it with no extra dependency. Without a built console the server
// still works; GET / then answers 404 and the start-up log says why.
import { cpSync, existsSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
let source
try {
  source = join(dirname(createRequire(import.meta.url).resolve("@facedet/console/package.json")), "dist")
} catch {
  source = undefined
}
if (source === undefined || !existsSync(join(source, "index.html"))) {
  console.warn("copy-console: @facedet/console is not built; the server will run without its web console")
} else {
  cpSync(source, join(here, "..", "dist", "console"), { recursive: true })
}
