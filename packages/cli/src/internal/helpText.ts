/**
 * `@effect/cli`'s help, made to read like the command a user types. Two things it cannot be told (0.77):
 *
 * - a sub-command's usage line shows the sub-command alone (`$ detect ...`); ours shows `$ facedet detect ...`;
 * - every argument and option starts with its type's stock sentence ("A user-defined piece of text."), which says
 *   nothing the flag's own description and placeholder (`URL`, `DIR`) do not; those sentences are dropped. Choices
 *   ("One of the following: ...") stay, since they are information.
 *
 * Applied to the text the library logs, only when it is a help page (it has a USAGE heading).
 */

import * as Ansi from "./ansi.js"

/** A usage line: `$ <command> ...`, maybe behind colour codes. */
const usageLine = new RegExp(`^((?:${Ansi.codes.source})*)\\$ (\\S+)`)

const placeholders: ReadonlySet<string> = new Set([
  "A user-defined piece of text.",
  "A user-defined piece of text that is confidential.",
  "A true or false value.",
  "An integer.",
  "A floating point number.",
  "A file system path."
])

/** The command words at the start of `args` (`["faces", "download"]` for `faces download --out x 1`). */
export const commandPath = (args: ReadonlyArray<string>, commands: ReadonlySet<string>): ReadonlyArray<string> => {
  const path: Array<string> = []
  for (const arg of args) {
    if (!commands.has(arg)) break
    path.push(arg)
  }
  return path
}

/** Rewrites a help page for the command at `path` (below `executable`); other text is returned as is. */
export const rewrite = (text: string, executable: string, path: ReadonlyArray<string>): string => {
  if (!Ansi.strip(text).includes("\nUSAGE\n")) return text
  const lines = text.split("\n")
  const out: Array<string> = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const plain = Ansi.strip(line).trim()
    if (placeholders.has(plain)) {
      // The blank line that ended its paragraph goes with it.
      if (i + 1 < lines.length && Ansi.strip(lines[i + 1]!).trim() === "") i += 1
      continue
    }
    const last = path[path.length - 1]
    const usage = usageLine.exec(line)
    if (last !== undefined && usage !== null && Ansi.strip(usage[2]!) === last) {
      out.push(`${usage[1]}$ ${[executable, ...path].join(" ")}${line.slice(usage[0].length)}`)
      continue
    }
    out.push(line)
  }
  return out.join("\n")
}
