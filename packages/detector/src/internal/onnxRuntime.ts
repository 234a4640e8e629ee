/**
 * Where the workers load onnxruntime-node from, with its telemetry off. onnxruntime-node 1.30 on Linux records usage
 * events (each session's creation, the OS, the runtime, a device id it keeps) in
 * `~/.cache/Microsoft/DeveloperTools/.onnxruntime` for upload to Microsoft's collector, and leaves `/tmp/.ses` and an
 * empty `/tmp/mat-debug-<pid>.log` for every process. A self-hosted service that looks at people's faces should not
 * report on itself unasked, so unless `ORT_DISABLE_TELEMETRY` is already set it is set to 1 before the first worker
 * loads onnxruntime. It has to be the process's real environment, which onnxruntime's native code reads: a worker
 * thread's `process.env` is a copy of its own, so this works when the detector is created on the main thread.
 */
import { createRequire } from "node:module"
import { isMainThread } from "node:worker_threads"

export const modulePath = (): string => {
  if (isMainThread && process.env.ORT_DISABLE_TELEMETRY === undefined) process.env.ORT_DISABLE_TELEMETRY = "1"
  return createRequire(import.meta.url).resolve("onnxruntime-node")
}

/**
 * Options for a worker that runs onnxruntime: none, unless the process runs with `--input-type` (as under
 * `node --input-type=module -e ...`). The workers' source is CommonJS given as a string (`eval: true`), and a worker
 * inherits the process's flags, so it would be read as an ES module, without `require`: then the worker gets no flags
 * at all. (Passing the others on is not an option: a worker refuses the flags that apply to a whole process, such as
 * `--max-old-space-size`, when they are given to it explicitly, and drops them quietly when it inherits them.)
 */
export const workerOptions = (): { readonly execArgv?: Array<string> } =>
  process.execArgv.some((flag) => flag.startsWith("--input-type")) ? { execArgv: [] } : {}
