// Writes src/internal/version.ts from package.json before every build, so the version the client reports (its
// User-Agent) is the one `changeset version` wrote, never a hand-edited constant.
import { readFileSync, writeFileSync } from "node:fs"

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
const target = new URL("../src/internal/version.ts", import.meta.url)
const source = readFileSync(target, "utf8")
const next = source.replace(/export const version = "[^"]*"/, `export const version = ${JSON.stringify(pkg.version)}`)
if (!/export const version = "/.test(source)) throw new Error("version.ts has no `export const version` line")
if (next !== source) writeFileSync(target, next)
