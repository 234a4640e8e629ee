import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { userAgent, version } from "../src/internal/version.js"

describe("version", () => {
  it("the User-Agent names the version in package.json", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
    expect(version).toBe(pkg.version)
    expect(userAgent).toBe(`facedet-node-client/${pkg.version}`)
  })
})
