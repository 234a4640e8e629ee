/** Words for messages about downloads: sizes, durations, header values and URLs made safe to show. */

/** Header text safe to put in a message: printable ASCII, at most 100 characters. */
export const printable = (value: string): string => value.replace(/[^\x20-\x7e]/g, "?").slice(0, 100)

/** A URL cut to 2,048 characters for a message. */
export const shorten = (url: string): string => (url.length > 2048 ? `${url.slice(0, 2048)}...` : url)

const detectedNames: Record<string, string> = {
  empty: "empty",
  unknown: "of an unknown format",
  text: "plain text",
  json: "JSON",
  "xml-or-html": "XML or HTML",
  "m4a-audio": "M4A audio",
  "camera-raw": "a camera raw file"
}

/** `html` -> `HTML`, `unknown` -> `of an unknown format`: the end of "its bytes are ...". */
export const detectedPhrase = (name: string): string => detectedNames[name] ?? name.toUpperCase()

/**
 * `1536` -> `1.5 KiB`.
 *
 * @since 0.1.0
 */
export const formatBytes = (bytes: number): string => {
  if (bytes < 1024) return `${bytes} bytes`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
}

/** `30000` -> `30 s`, `1500` -> `1500 ms`. */
export const formatMs = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`)
