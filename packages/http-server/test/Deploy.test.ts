/**
 * The systemd unit shipped in deploy/: `systemd-analyze verify` accepts it and reports nothing (a warning such as an
 * unparsable setting counts as a failure), and it starts the server the way the README says. Skipped where systemd
 * is not installed, except in CI.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"

const unit = fileURLToPath(new URL("../deploy/facedet-server.service", import.meta.url))
const analyze = spawnSync("systemd-analyze", ["--version"]).status === 0
if (!analyze && process.env.CI === "true") throw new Error("systemd-analyze is needed in CI to verify the systemd unit")

describe.runIf(analyze)("deploy/facedet-server.service", () => {
  it("passes systemd-analyze verify without a warning", () => {
    const r = spawnSync("systemd-analyze", ["verify", unit], { encoding: "utf8" })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr.split("\n").filter((l) => l.includes("facedet-server.service"))).toEqual([])
  })

  it("drains on SIGTERM within its stop timeout, and keeps state in its own directory", () => {
    const text = readFileSync(unit, "utf8")
    expect(text).toMatch(/^KillSignal=SIGTERM$/m)
    const stop = Number(/^TimeoutStopSec=(\d+)$/m.exec(text)?.[1])
    expect(stop).toBeGreaterThan(30) // the default shutdown grace period is 30 s
    expect(text).toMatch(/^ExecStart=\/usr\/bin\/env facedet-server --data-dir \/var\/lib\/facedet$/m)
    expect(text).toMatch(/^StateDirectory=facedet$/m)
    expect(execFileSync("systemd-analyze", ["--version"], { encoding: "utf8" })).toMatch(/systemd/)
  })
})
