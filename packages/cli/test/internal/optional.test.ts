import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { describe, expect, it } from "vitest"
import { OptionalPackageMissing } from "../../src/CliError.js"
import * as ExitCode from "../../src/ExitCode.js"
import * as Optional from "../../src/internal/optional.js"
import * as Render from "../../src/Render.js"

const notFound = (specifier: string) =>
  Object.assign(new Error(`Cannot find package '${specifier}' imported from /x/dist/DetectCommand.js`), {
    code: "ERR_MODULE_NOT_FOUND"
  })

describe("optional packages", () => {
  it("a missing optional package is a typed error that says what to install (exit code 2)", async () => {
    const exit = await Effect.runPromiseExit(
      Optional.load("@facedet/detector", "facedet detect --local", () => Promise.reject(notFound("@facedet/detector")))
    )
    expect(exit).toEqual(Exit.fail(expect.any(OptionalPackageMissing)))
    const error = new OptionalPackageMissing({ packageName: "@facedet/detector", feature: "facedet detect --local" })
    expect(ExitCode.ofCliError(error)).toBe(ExitCode.ExitCode.Usage)
    const lines = Render.error(error, {}).join("\n")
    expect(lines).toContain("facedet detect --local needs @facedet/detector, which is not installed")
    expect(lines).toContain("npm i -g @facedet/detector")
  })

  it("a package the optional one imports in turn, or any other failure, is a defect, not a missing package", async () => {
    const deeper = await Effect.runPromiseExit(
      Optional.load("@facedet/detector", "facedet detect --local", () => Promise.reject(notFound("onnxruntime-node")))
    )
    expect(Exit.isFailure(deeper) && Cause.isDie(deeper.cause)).toBe(true)
    expect(Optional.isMissing(notFound("onnxruntime-node"), "@facedet/detector")).toBe(false)
    expect(Optional.isMissing(new Error("Cannot find package '@facedet/detector'"), "@facedet/detector")).toBe(false)
    expect(Optional.isMissing(notFound("@facedet/detector"), "@facedet/detector")).toBe(true)
    const loaded = await Effect.runPromise(Optional.load("@facedet/detector", "x", () => Promise.resolve(42)))
    expect(loaded).toBe(42)
  })
})
