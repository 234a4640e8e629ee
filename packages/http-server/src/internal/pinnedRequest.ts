/**
 * An outgoing request to a URL the SSRF guard has checked, made the one way that keeps the check true: a fresh
 * socket (no pooled connection to a host judged under other rules), the guarded lookup (one resolution, every
 * answer judged, the socket dials exactly those addresses), Node's strict parser, and TLS verified against the name
 * the user gave. Media downloads and callbacks both go through it.
 */
import * as http from "node:http"
import * as https from "node:https"
import * as Ssrf from "./ssrf.js"

/** What a pinned request needs besides the checked URL. */
export interface Request {
  readonly method: "GET" | "POST"
  readonly headers: Readonly<Record<string, string>>
  readonly resolve: Ssrf.Resolve
  readonly policy: Ssrf.Policy
  /** The certificate authorities to trust, when not Node's own. */
  readonly ca?: string | Array<string> | undefined
}

/** Starts the request (not yet ended) to `url`, which `Ssrf.checkUrl` judged to point at `target`. */
export const pinnedRequest = (url: URL, target: Ssrf.Target, request: Request): http.ClientRequest => {
  const isHttps = url.protocol === "https:"
  const hostname = target._tag === "Literal" ? target.address : target.name
  const options: https.RequestOptions = {
    hostname,
    port: url.port === "" ? (isHttps ? 443 : 80) : Number(url.port),
    path: `${url.pathname}${url.search}`,
    method: request.method,
    agent: false,
    headers: request.headers,
    // Checked answers only; Node skips lookup for IP literals, which checkUrl judged already.
    lookup: Ssrf.guardedLookup(request.resolve, request.policy),
    insecureHTTPParser: false,
    ...(isHttps ? { rejectUnauthorized: true, ...(target._tag === "Literal" ? {} : { servername: hostname }) } : {}),
    ...(isHttps && request.ca !== undefined ? { ca: request.ca } : {})
  }
  return (isHttps ? https : http).request(options)
}
