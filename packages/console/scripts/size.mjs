// Reports (and bounds) the console's weight: every JavaScript and CSS file it loads, gzipped. The API reference
// under docs/ is a separate page and is reported apart.
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist")
const gz = (path) => gzipSync(readFileSync(path), { level: 9 }).length
const assets = readdirSync(join(dist, "assets")).filter((f) => /\.(js|css)$/.test(f))
const total = assets.reduce((sum, f) => sum + gz(join(dist, "assets", f)), 0)
const docs = gz(join(dist, "docs", "scalar.js"))
const kb = (n) => `${(n / 1024).toFixed(1)} KB`
console.log(`console JS+CSS: ${kb(total)} gzipped (${assets.join(", ")}); limit 150 KB`)
console.log(`API reference (Scalar, /docs only): ${kb(docs)} gzipped`)
if (total > 150 * 1024) {
  console.error("the console is over its 150 KB gzipped budget")
  process.exit(1)
}
