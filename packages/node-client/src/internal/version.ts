/**
 * The package version sent in `User-Agent`: written from package.json by `scripts/version.mjs` at every build (a
 * test keeps the two equal).
 */
export const version = "0.0.0"

/** The `User-Agent` this client sends outside browsers. */
export const userAgent = `facedet-node-client/${version}`

/**
 * Whether the code runs in a browser page, where `User-Agent` is the browser's own (a forbidden header for fetch)
 * and setting it only risks a CORS preflight failure.
 */
export const isBrowser = (): boolean => {
  const g = globalThis as { readonly window?: unknown; readonly document?: unknown }
  return typeof g.window === "object" && g.window !== null && typeof g.document === "object" && g.document !== null
}
