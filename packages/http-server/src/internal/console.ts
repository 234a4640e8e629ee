/**
 * The console's files (`@facedet/console`, built into `dist/console`): the page at `/`, its hashed assets under
 * `/assets/`, and the API reference at `/docs`. Read into memory once at start (a few files), so serving them
 * touches no disk and no path from a request ever reaches the file system.
 *
 * Headers: a strict Content-Security-Policy on the pages (scripts only from this origin, no inline script, API calls
 * only to this origin), `immutable` caching for hashed assets and `no-cache` for the pages, `nosniff`, no framing,
 * no referrer. The API reference's renderer (Scalar) injects its own stylesheet, so its page alone allows inline
 * styles; it still runs no inline script.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import type { IncomingHttpHeaders } from "node:http"
import { createRequire } from "node:module"
import { dirname, extname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"
import type { Response } from "./httpEdge.js"

/** The console's CSP: media previews come from the user's own file (blob:) or the URL they pasted. */
export const consolePolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data: http: https:",
  "media-src 'self' blob: http: https:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join("; ")

/** The API reference's CSP: as strict, but for the inline styles its renderer injects. */
export const docsPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join("; ")

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".json": "application/json; charset=utf-8"
}

interface File {
  readonly bytes: Uint8Array
  readonly type: string
  readonly cache: string
  readonly policy?: string
  /** Compressed once, on first request, for clients that accept gzip (the API reference's 4.7 MB bundle). */
  gzip?: Uint8Array | undefined
}

/** The console's files, ready to answer. */
export interface ConsoleAssets {
  /** Where they were read from. */
  readonly root: string
  /** The answer for a GET/HEAD of `path`, or undefined when it is not one of the console's paths. */
  readonly serve: (path: string, headers: IncomingHttpHeaders) => Response | undefined
}

const common = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY"
} as const

/** Where the built console is: in this package's `dist/console`, or (in the workspace) the console package's own. */
export const locate = (): string | undefined => {
  const own = fileURLToPath(new URL("../../dist/console/", import.meta.url))
  if (existsSync(join(own, "index.html"))) return own
  try {
    const pkg = createRequire(import.meta.url).resolve("@facedet/console/package.json")
    const dist = join(dirname(pkg), "dist")
    return existsSync(join(dist, "index.html")) ? dist : undefined
  } catch {
    return undefined
  }
}

/** Reads the console from `root`; undefined when it holds no console. */
export const load = (root: string | undefined = locate()): ConsoleAssets | undefined => {
  if (root === undefined || !existsSync(join(root, "index.html"))) return undefined
  const files = new Map<string, File>()
  const add = (path: string, file: string, cache: string, policy?: string) => {
    const type = types[extname(file)]
    if (type === undefined) return
    files.set(path, { bytes: readFileSync(file), type, cache, ...(policy !== undefined ? { policy } : {}) })
  }
  add("/", join(root, "index.html"), "no-cache", consolePolicy)
  const assets = join(root, "assets")
  if (existsSync(assets)) {
    // Vite names them by content hash: a changed file is a new URL, so they never need revalidating.
    for (const name of readdirSync(assets))
      add(`/assets/${name}`, join(assets, name), "public, max-age=31536000, immutable")
  }
  const docs = join(root, "docs")
  if (existsSync(join(docs, "index.html"))) {
    add("/docs", join(docs, "index.html"), "no-cache", docsPolicy)
    for (const name of readdirSync(docs)) {
      if (name !== "index.html") add(`/docs/${name}`, join(docs, name), "public, max-age=3600")
    }
  }
  return {
    root,
    serve: (path, headers) => {
      const file = files.get(path === "/docs/" ? "/docs" : path)
      if (file === undefined) return undefined
      const accept = headers["accept-encoding"]
      const gzip = file.bytes.byteLength > 8192 && typeof accept === "string" && /\bgzip\b/.test(accept)
      if (gzip) file.gzip ??= gzipSync(file.bytes, { level: 6 })
      return {
        status: 200,
        headers: {
          ...common,
          "content-type": file.type,
          "cache-control": file.cache,
          vary: "accept-encoding",
          ...(file.policy !== undefined ? { "content-security-policy": file.policy } : {}),
          ...(gzip ? { "content-encoding": "gzip" } : {})
        },
        body: gzip ? file.gzip! : file.bytes,
        route: path.startsWith("/assets/") ? "/assets/:file" : path.startsWith("/docs") ? "/docs" : "/"
      }
    }
  }
}
