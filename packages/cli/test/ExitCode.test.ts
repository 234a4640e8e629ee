import { FaceDetError } from "@facedet/core"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import { describe, expect, it } from "vitest"
import * as CliError from "../src/CliError.js"
import * as ExitCode from "../src/ExitCode.js"
import { exitCodeOf } from "../src/internal/report.js"

const { ExitCode: Code } = ExitCode

describe("ExitCode", () => {
  it("every kind of outcome has its own code", () => {
    const codes = Object.values(Code)
    expect(new Set(codes).size).toBe(codes.length)
  })

  it.each<[string, FaceDetError.FaceDetError, ExitCode.ExitCode]>([
    ["401", new FaceDetError.Unauthorized(), Code.Unauthorized],
    ["403 from a proxy", FaceDetError.fromHttpStatus(403), Code.Unauthorized],
    ["402", new FaceDetError.InsufficientCredits(), Code.InsufficientCredits],
    ["404", new FaceDetError.NotFound(), Code.NotFound],
    ["422", new FaceDetError.ValidationError(), Code.Usage],
    ["429", new FaceDetError.RateLimited(), Code.Unavailable],
    ["455", new FaceDetError.ServiceUnavailable(), Code.Unavailable],
    ["500", new FaceDetError.ServerError(), Code.Unavailable],
    ["HTML 502", FaceDetError.fromHttpStatus(502), Code.Unavailable],
    ["501", new FaceDetError.GenerationFailed(), Code.TaskFailed],
    ["505", new FaceDetError.FeatureDisabled(), Code.TaskFailed],
    [
      "failed task",
      new FaceDetError.DetectionFailed({ detectTaskId: "t", code: "c", taskMessage: "m" }),
      Code.TaskFailed
    ],
    ["wait deadline", new FaceDetError.WaitTimeout({ taskId: "t", timeoutMs: 1000 }), Code.WaitTimeout],
    [
      "refused connection",
      new FaceDetError.TransportError({ message: "x", requestSent: false, reason: "Connect" }),
      Code.Network
    ],
    [
      "abort",
      new FaceDetError.TransportError({ message: "x", requestSent: true, reason: "Aborted" }),
      Code.Interrupted
    ],
    ["unreadable answer", new FaceDetError.DecodeError({ message: "x" }), Code.Unexpected],
    ["unknown code", new FaceDetError.UnknownApiError({ code: 599 }), Code.Unexpected]
  ])("%s", (_name, error, code) => {
    expect(ExitCode.ofFaceDetError(error)).toBe(code)
    expect(exitCodeOf(error)).toBe(code)
  })

  it.each<[string, CliError.CliError, ExitCode.ExitCode]>([
    ["usage", new CliError.UsageError({ message: "x" }), Code.Usage],
    ["unreadable file", new CliError.FileError({ message: "x", path: "/x" }), Code.Usage],
    ["not media", new CliError.MediaError({ message: "x", source: "x" }), Code.Usage],
    ["file for crun.ai", new CliError.UploadUnsupported({ baseUrl: "b", path: "p" }), Code.Usage],
    ["no key", new CliError.MissingApiKey({ baseUrl: "b" }), Code.Unauthorized],
    ["task failed", new CliError.TaskNotSucceeded({ detectTaskId: "t", status: "failed" }), Code.TaskFailed],
    ["task running", new CliError.TaskNotSucceeded({ detectTaskId: "t", status: "processing" }), Code.WaitTimeout],
    ["crop 404", new CliError.CropDownloadFailed({ message: "x", link: "l", httpStatus: 404 }), Code.NotFound],
    ["crop 503", new CliError.CropDownloadFailed({ message: "x", link: "l", httpStatus: 503 }), Code.Unavailable],
    ["crop unreachable", new CliError.CropDownloadFailed({ message: "x", link: "l" }), Code.Network],
    ["bad server config", new CliError.ServeFailed({ message: "x", configuration: true }), Code.Usage],
    ["server cannot start", new CliError.ServeFailed({ message: "x", configuration: false }), Code.Unexpected],
    ["no local model", new CliError.LocalDetectorUnavailable({ message: "x" }), Code.Unexpected]
  ])("%s", (_name, error, code) => {
    expect(ExitCode.ofCliError(error)).toBe(code)
    expect(exitCodeOf(error)).toBe(code)
  })

  it("the process exit code: the program's value, 130 when interrupted, unless a command asked otherwise", () => {
    expect(ExitCode.ofExit(Exit.succeed(Code.TaskFailed))).toBe(6)
    expect(ExitCode.ofExit(Exit.interrupt(Exit.void as never))).toBe(130)
    expect(ExitCode.ofExit(Exit.failCause(Cause.interrupt("x" as never)), 0)).toBe(0)
    expect(ExitCode.ofExit(Exit.die(new Error("bug")))).toBe(1)
  })
})
