/**
 * The crun.ai documentation's example bodies (the testkit's one copy), typed for the client's tests.
 */
import * as Crun from "@facedet/testkit/Crun"
import type { DetectTask, SwapTask } from "@facedet/core"
import type { FaceDetClient } from "../../src/index.js"

export interface Envelope<D> {
  readonly code: number
  readonly message: string
  readonly data: D
}

const read = <A>(name: Crun.Name): A => Crun.body(name) as A

export const fixtures = {
  createOk: read<Envelope<DetectTask.CreateData>>("create-ok"),
  resultProcessing: read<Envelope<DetectTask.ResultData>>("result-processing"),
  resultSucceeded: read<Envelope<DetectTask.Succeeded>>("result-succeeded"),
  resultFailed: read<Envelope<DetectTask.ResultData>>("result-failed"),
  swapCreateOk: read<Envelope<SwapTask.CreateTaskData>>("swap-create-ok"),
  swapMultiRequest: read<FaceDetClient.SwapRequest>("swap-multi-request"),
  taskInfoRunning: read<Envelope<SwapTask.TaskInfoData>>("taskinfo-running")
} as const

/** A result envelope in another state, built from the documented ones. */
export const resultWith = (status: string, detectTaskId = "dit60yt8reqplt1c16") => ({
  code: 200,
  message: "success",
  data: { ...fixtures.resultProcessing.data, detect_task_id: detectTaskId, status }
})

export const succeededFor = (detectTaskId: string) => ({
  ...fixtures.resultSucceeded,
  data: { ...fixtures.resultSucceeded.data, detect_task_id: detectTaskId }
})
