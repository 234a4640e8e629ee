// Puts the API reference page next to the console: Scalar's self-contained browser bundle (served from this server,
// never a CDN) and a page that points it at /openapi.json. No inline script: the configuration is a data attribute.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
// The package exports no package.json: walk up from its entry point to its root.
let scalar = dirname(require.resolve("@scalar/api-reference"))
while (!existsSync(join(scalar, "package.json"))) scalar = dirname(scalar)
const out = join(here, "..", "dist", "docs")
mkdirSync(out, { recursive: true })
copyFileSync(join(scalar, "dist", "browser", "standalone.js"), join(out, "scalar.js"))
// Its licence travels with the bundle we serve.
const meta = JSON.parse(readFileSync(join(scalar, "package.json"), "utf8"))
const licence = ["LICENSE", "LICENSE.md", "license"].map((f) => join(scalar, f)).find((f) => existsSync(f))
writeFileSync(
  join(out, "scalar.LICENSE.txt"),
  `${meta.name} ${meta.version} (${meta.license}), ${meta.repository?.url ?? meta.homepage ?? ""}\n\n${licence ? readFileSync(licence, "utf8") : ""}`
)
const configuration = JSON.stringify({ withDefaultFonts: false, hideClientButton: true, telemetry: false })
writeFileSync(
  join(out, "index.html"),
  `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>facedet API reference</title>
    <link rel="icon" href="data:," />
  </head>
  <body>
    <script id="api-reference" data-url="/openapi.json" data-configuration='${configuration}'></script>
    <script src="/docs/scalar.js"></script>
  </body>
</html>
`
)
console.log(`docs: ${out}`)
