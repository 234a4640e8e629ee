/**
 * JSON request bodies under limits: a nesting depth checked on the raw text before parsing (so a body of ten
 * thousand `[` never reaches the parser's recursion), and the caller's byte limit applied while reading.
 */

/** The body could not be used as JSON. */
export type JsonProblem = { readonly reason: "syntax" | "depth"; readonly message: string }

/** Nesting deeper than this is refused: a create body is one flat object. */
export const maxDepth = 16

/** The deepest nesting of `text`'s arrays and objects, ignoring brackets inside strings; stops counting past `limit`. */
export const depthOf = (text: string, limit = maxDepth): number => {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \ */) i++
      else if (c === 34 /* " */) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth++
      if (depth > deepest) deepest = depth
      if (deepest > limit) return deepest
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--
  }
  return deepest
}

/** Parses `text` as JSON within the depth limit. */
export const parse = (
  text: string
): { readonly ok: true; readonly value: unknown } | ({ readonly ok: false } & JsonProblem) => {
  if (depthOf(text) > maxDepth) {
    return { ok: false, reason: "depth", message: `the JSON body is nested deeper than ${maxDepth} levels` }
  }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (e) {
    return {
      ok: false,
      reason: "syntax",
      message: `malformed JSON body: ${e instanceof Error ? e.message : String(e)}`
    }
  }
}
