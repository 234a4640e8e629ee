/**
 * The SSRF guard's two checkpoints, free of HTTP details:
 *
 * - `checkUrl`: parse with WHATWG `URL` (which turns `2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1` and full-width
 *   digits into dotted IPv4, and compresses IPv6), allow http(s) only, refuse credentials and port 0, then judge the
 *   host: an IP literal by its address (Node never calls `lookup` for literals), a name by the reserved and
 *   local-only names it must not be.
 * - `guardedLookup`: the `lookup` handed to the socket itself. It resolves once, refuses the connection if any
 *   answer is a refused address, and gives the socket exactly the addresses it checked (no second DNS query, so a
 *   rebinding resolver gets no second chance).
 */
import type { LookupAddress, LookupOptions } from "node:dns"
import { isIP } from "node:net"
import * as Address from "./address.js"

/** The address policy: off entirely (`allowPrivate`), or with exceptions. */
export interface Policy {
  readonly allowPrivate: boolean
  readonly allowedCidrs: ReadonlyArray<Address.Cidr>
  /** Ports URLs may name (empty or absent: any). */
  readonly allowedPorts?: ReadonlyArray<number> | undefined
  /**
   * This machine's own addresses (every interface's): refused like private ones, so a URL cannot reach services
   * that listen on the server's public address.
   */
  readonly ownAddresses?: ReadonlySet<string> | undefined
}

/** Every address of this machine's interfaces, in `URL`'s normal form. */
export const localAddresses = (
  interfaces: Record<string, ReadonlyArray<{ readonly address: string }> | undefined>
): ReadonlySet<string> => {
  const out = new Set<string>()
  for (const list of Object.values(interfaces)) {
    for (const entry of list ?? []) out.add(normal(entry.address))
  }
  return out
}

/** An address in the one spelling `Address.classify` reports (IPv6 compressed, no zone), for set lookups. */
const normal = (address: string): string => Address.classify(address.split("%")[0]!).address

/**
 * One of this machine's public addresses (its loopback and private ones are refused anyway), unless the operator
 * allowed it by CIDR.
 */
const isOwn = (policy: Policy, address: string): boolean =>
  policy.ownAddresses?.has(normal(address)) === true &&
  Address.classify(address).allowed &&
  !Address.inAnyCidr(address, policy.allowedCidrs)

/** Resolves a host name to every address it has. */
export type Resolve = (
  hostname: string
) => Promise<ReadonlyArray<{ readonly address: string; readonly family: number }>>

/** Where a checked URL points: an IP literal or a name still to resolve. */
export type Target =
  | { readonly _tag: "Literal"; readonly address: string; readonly family: 4 | 6 }
  | { readonly _tag: "Name"; readonly name: string }

/** The outcome of `checkUrl`. */
export type UrlCheck =
  | { readonly _tag: "Ok"; readonly url: URL; readonly host: string; readonly target: Target }
  | { readonly _tag: "Invalid"; readonly reason: string }
  | {
      readonly _tag: "Refused"
      readonly url: URL
      readonly host: string
      readonly reason: string
      readonly range: string
      readonly address?: string
    }

/** URLs longer than this are refused outright (the wire schema caps them at 4096 too). */
export const maxUrlLength = 8192

/**
 * Names that only mean something on the local machine or network (RFC 6761, RFC 6762 appendix G, RFC 8375, the
 * ICANN `.internal` reservation), or that never resolve publicly (`.test`, `.invalid`, `.example`, `.onion`): a
 * public media URL never uses them, an internal one often does.
 */
const forbiddenSuffixes = [
  "localhost",
  "local",
  "localdomain",
  "internal",
  "intranet",
  "private",
  "corp",
  "home",
  "lan",
  "home.arpa",
  "test",
  "invalid",
  "example",
  "onion"
] as const

/** Why a host name is refused, or undefined when it may be resolved. Expects a lower-case name. */
export const forbiddenName = (hostname: string): string | undefined => {
  const name = hostname.replace(/\.+$/, "")
  if (name === "") return "an empty host name"
  for (const suffix of forbiddenSuffixes) {
    if (name === suffix || name.endsWith(`.${suffix}`)) return `a local-only host name (".${suffix}")`
  }
  if (!name.includes(".")) return "a single-label host name (it only resolves on a local network)"
  return undefined
}

/** Parses and checks a URL without touching the network. */
export const checkUrl = (raw: string, policy: Policy): UrlCheck => {
  if (typeof raw !== "string" || raw.trim() === "") return { _tag: "Invalid", reason: "the URL is empty" }
  if (raw.length > maxUrlLength) return { _tag: "Invalid", reason: `the URL is longer than ${maxUrlLength} characters` }
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { _tag: "Invalid", reason: "not a valid absolute URL" }
  }
  return checkParsed(url, policy)
}

/** Checks an already parsed URL (a redirect's `Location` resolved against the current URL). */
export const checkParsed = (url: URL, policy: Policy): UrlCheck => {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { _tag: "Invalid", reason: `the scheme "${url.protocol.slice(0, 20)}" is not allowed (only http and https)` }
  }
  if (url.username !== "" || url.password !== "") {
    return { _tag: "Invalid", reason: "credentials in the URL (user:password@) are not allowed" }
  }
  if (url.hostname === "") return { _tag: "Invalid", reason: "the URL has no host" }
  if (url.port === "0") return { _tag: "Invalid", reason: "port 0 is not a valid port" }
  const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port)
  if (!policy.allowPrivate && policy.allowedPorts !== undefined && policy.allowedPorts.length > 0) {
    if (!policy.allowedPorts.includes(port)) {
      return {
        _tag: "Invalid",
        reason: `port ${port} is not allowed here (allowed: ${policy.allowedPorts.join(", ")})`
      }
    }
  }
  const host = url.hostname
  const bare = host.startsWith("[") ? host.slice(1, -1) : host.replace(/\.+$/, "")
  const family = isIP(bare)
  if (family === 4 || family === 6) {
    const target: Target = { _tag: "Literal", address: bare, family }
    if (policy.allowPrivate) return { _tag: "Ok", url, host, target }
    if (isOwn(policy, bare)) {
      return { _tag: "Refused", url, host, range: "own", address: bare, reason: `${bare} is this server's own address` }
    }
    const verdict = Address.classify(bare, policy.allowedCidrs)
    if (verdict.allowed) return { _tag: "Ok", url, host, target }
    return {
      _tag: "Refused",
      url,
      host,
      range: verdict.range,
      address: verdict.address,
      reason: `${verdict.address} is ${Address.describeRange(verdict.range)}`
    }
  }
  const target: Target = { _tag: "Name", name: bare }
  if (policy.allowPrivate) return { _tag: "Ok", url, host, target }
  const why = forbiddenName(bare)
  if (why !== undefined) return { _tag: "Refused", url, host, range: "localName", reason: `"${bare}" is ${why}` }
  return { _tag: "Ok", url, host, target }
}

/** The error a guarded lookup fails the socket with when an answer is refused; the fetcher maps it to `Forbidden`. */
export class RefusedAddressError extends Error {
  readonly code = "FACEDET_REFUSED_ADDRESS"
  constructor(
    readonly hostname: string,
    readonly address: string,
    readonly range: string
  ) {
    super(`${hostname} resolves to ${Address.describeRange(range)}`)
  }
}

/** A name that resolved to nothing. */
const notFound = (hostname: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND", hostname })

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | Array<LookupAddress>,
  family?: number
) => void

/**
 * A `lookup` for `net.connect` / `http.request`: resolves with `resolve`, refuses if ANY address is refused (a
 * name with one public and one private address is refused: the socket could be steered to either), reports the
 * checked addresses through `onResolved`, and answers in the single or `all` form Node asked for.
 */
export const guardedLookup =
  (resolve: Resolve, policy: Policy, onResolved?: (addresses: ReadonlyArray<string>) => void) =>
  (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    // Promise.resolve().then: a resolver that throws synchronously still fails the socket, not the process.
    Promise.resolve()
      .then(() => resolve(hostname))
      .then(
        (answers) => {
          const addresses: Array<LookupAddress> = []
          for (const answer of answers) {
            const family = answer.family === 6 || answer.address.includes(":") ? 6 : 4
            if (!policy.allowPrivate) {
              if (isOwn(policy, answer.address)) {
                return callback(new RefusedAddressError(hostname, answer.address, "own"), "")
              }
              const verdict = Address.classify(answer.address, policy.allowedCidrs)
              if (!verdict.allowed)
                return callback(new RefusedAddressError(hostname, verdict.address, verdict.range), "")
            }
            addresses.push({ address: answer.address, family })
          }
          const wanted = options.family === 4 || options.family === 6 ? options.family : undefined
          const usable = wanted === undefined ? addresses : addresses.filter((a) => a.family === wanted)
          if (usable.length === 0) return callback(notFound(hostname), "")
          onResolved?.(usable.map((a) => a.address))
          if (options.all === true) return callback(null, usable)
          const first = usable[0]!
          return callback(null, first.address, first.family)
        },
        (error: unknown) =>
          callback(
            error instanceof Error ? (error as NodeJS.ErrnoException) : Object.assign(new Error(String(error))),
            ""
          )
      )
  }
