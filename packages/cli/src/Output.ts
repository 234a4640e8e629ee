/**
 * Where the command writes: results on stdout, progress and errors on stderr, and a live status line only when
 * stderr is a terminal. One service so handlers stay testable and the rule "stdout carries results only" lives in
 * one place.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  /** Writes one line (a result) on stdout. */
  readonly out: (line: string) => Effect.Effect<void>
  /** Writes one line (progress, a warning, an error) on stderr, clearing a live status line first. */
  readonly err: (line: string) => Effect.Effect<void>
  /** Shows a transient status line on stderr when it is a terminal; does nothing otherwise. */
  readonly status: (line: string) => Effect.Effect<void>
  /** Removes the transient status line, if any. */
  readonly clearStatus: Effect.Effect<void>
  /** Whether stderr is a terminal (live status line, colours). */
  readonly interactive: boolean
}

/**
 * @since 0.1.0
 * @category Tags
 */
export class Output extends Context.Tag("@facedet/cli/Output")<Output, Service>() {}

interface Sink {
  readonly write: (chunk: string) => unknown
  readonly isTTY?: boolean | undefined
  readonly columns?: number | undefined
}

/**
 * An `Output` over two streams. The status line is cut to the terminal's width so `\r` can redraw it.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (stdout: Sink, stderr: Sink): Service => {
  const interactive = stderr.isTTY === true
  let statusShown = false
  const clear = (): void => {
    if (statusShown) {
      stderr.write("\r\x1b[2K")
      statusShown = false
    }
  }
  return {
    interactive,
    out: (line) =>
      Effect.sync(() => {
        clear()
        stdout.write(`${line}\n`)
      }),
    err: (line) =>
      Effect.sync(() => {
        clear()
        stderr.write(`${line}\n`)
      }),
    status: (line) =>
      interactive
        ? Effect.sync(() => {
            // A pseudo-terminal without a size (script, some CI runners) reports 0 columns.
            const width = Math.max(20, (stderr.columns || 80) - 1)
            stderr.write(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`)
            statusShown = true
          })
        : Effect.void,
    clearStatus: Effect.sync(clear)
  }
}

/**
 * The process's stdout and stderr. A closed stdout (`facedet ... | head -1`) is not an error.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: Layer.Layer<Output> = Layer.sync(Output, () => {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error
  })
  return make(process.stdout, process.stderr)
})

/**
 * Captured output for tests: what went to stdout and stderr, line by line.
 *
 * @since 0.1.0
 * @category Layers
 */
export const makeTest = (
  options: { readonly interactive?: boolean } = {}
): {
  readonly layer: Layer.Layer<Output>
  readonly stdout: Array<string>
  readonly stderr: Array<string>
} => {
  const stdout: Array<string> = []
  const stderr: Array<string> = []
  const lines =
    (into: Array<string>) =>
    (chunk: string): void => {
      into.push(...chunk.replace(/\n$/, "").split("\n"))
    }
  const service = make(
    { write: lines(stdout) },
    {
      write: (chunk: string) => (chunk.startsWith("\r") ? undefined : lines(stderr)(chunk)),
      isTTY: options.interactive ?? false
    }
  )
  return { layer: Layer.succeed(Output, service), stdout, stderr }
}
