/** ANSI colour and style codes (`ESC [ ... m`), as `@effect/cli`'s help and messages use them. */

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point
export const codes = /\x1b\[[0-9;]*m/g

/** `text` without its colour codes. */
export const strip = (text: string): string => text.replace(codes, "")
