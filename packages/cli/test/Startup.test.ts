/**
 * What the executable loads before a command runs, for `--help`, `--version`, completions and usage errors to start
 * fast: each command's module (the client, the detector, the server) is imported only when that command runs, and
 * nothing on the way loads zod (core's error taxonomy brings it).
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"

// Static value imports and re-exports; `import type` is erased, and dynamic `import()` is not a start-up cost.
const specifiers = (file: URL): ReadonlyArray<string> =>
  [...readFileSync(file, "utf8").matchAll(/^\s*(?:import|export)\s(?!type\s)[^"']*?from\s+["']([^"']+)["']/gm)].map(
    (m) => m[1]!
  )

const loadedAtStart = (): { readonly modules: ReadonlySet<string>; readonly external: ReadonlySet<string> } => {
  const modules = new Set<string>()
  const external = new Set<string>()
  const visit = (file: URL) => {
    if (modules.has(file.pathname)) return
    modules.add(file.pathname)
    for (const spec of specifiers(file)) {
      if (spec.startsWith(".")) visit(new URL(spec.replace(/\.js$/, ".ts"), file))
      else external.add(spec)
    }
  }
  visit(new URL("../src/bin.ts", import.meta.url))
  return { modules, external }
}

describe("start-up", () => {
  it("loads no command module, client, detector, server, or core module that brings zod", () => {
    const { external, modules } = loadedAtStart()
    expect([...modules].filter((m) => /(Detect|Result|Serve|Faces)Command\.ts$/.test(m))).toEqual([])
    const heavy = [...external].filter(
      (s) =>
        s.startsWith("@facedet/node-client") ||
        s.startsWith("@facedet/detector") ||
        s.startsWith("@facedet/http-server") ||
        s === "@facedet/core" ||
        s === "@facedet/core/FaceDetError" ||
        s === "@facedet/core/Envelope" ||
        s === "zod"
    )
    expect(heavy).toEqual([])
    expect(external).toContain("@effect/cli/Command")
  })
})
