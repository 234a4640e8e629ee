/**
 * The main entry must run in any runtime with `fetch`: nothing it loads may import Node built-ins or
 * `@effect/platform-node` (those belong to the `./node` subpath).
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"

const specifiers = (file: URL): ReadonlyArray<string> =>
  [...readFileSync(file, "utf8").matchAll(/^\s*(?:import|export)\s[^"']*?from\s+["']([^"']+)["']/gm)].map((m) => m[1]!)

/** Every module specifier reachable from `entry` through the package's own relative imports. */
const reachable = (entry: string): ReadonlySet<string> => {
  const seen = new Set<string>()
  const external = new Set<string>()
  const visit = (file: URL) => {
    if (seen.has(file.href)) return
    seen.add(file.href)
    for (const spec of specifiers(file)) {
      if (spec.startsWith(".")) visit(new URL(spec.replace(/\.js$/, ".ts"), file))
      else external.add(spec)
    }
  }
  visit(new URL(entry, import.meta.url))
  return external
}

describe("package entries", () => {
  it("the main entry imports no Node built-ins and not @effect/platform-node", () => {
    const external = [...reachable("../src/index.ts")]
    expect(external).toContain("@effect/platform/FetchHttpClient")
    expect(external.filter((s) => s.startsWith("node:") || s.startsWith("@effect/platform-node"))).toEqual([])
  })

  it("the ./node entry is where undici comes in", () => {
    expect([...reachable("../src/node.ts")]).toContain("@effect/platform-node/NodeHttpClient")
  })
})
