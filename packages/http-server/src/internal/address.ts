/**
 * The media fetcher's address classifier: is this IP address one a URL from a stranger may make the server dial?
 *
 * Only plain global unicast passes. ipaddr.js names the special ranges (`range() !== "unicast"`); a table of our own
 * repeats every range we refuse, so a change in ipaddr.js's table cannot silently open one, and names a few it calls
 * unicast (IPv4-compatible `::a.b.c.d`). IPv4-mapped IPv6 (`::ffff:7f00:1`) is judged by the IPv4 address inside,
 * which is what the kernel dials.
 */
import { createRequire } from "node:module"

// ipaddr.js is CommonJS whose exports Node's ESM loader cannot list, and this package compiles without synthetic
// default imports: load it through require.
const ipaddr = createRequire(import.meta.url)("ipaddr.js") as typeof import("ipaddr.js")

type IPv4 = InstanceType<typeof ipaddr.IPv4>
type IPv6 = InstanceType<typeof ipaddr.IPv6>

/** A parsed IP address. */
export type Address = IPv4 | IPv6

/** A parsed CIDR block. */
export type Cidr = readonly [Address, number]

/** What the classifier says about one address. */
export type Verdict =
  | { readonly allowed: true; readonly address: string; readonly family: 4 | 6 }
  | { readonly allowed: false; readonly address: string; readonly family: 4 | 6; readonly range: string }

// Every range refused, most specific first (the first match names the range). Sources: IANA special-purpose
// registries for IPv4 and IPv6, RFC 6890, and the SSRF checklist in the OWASP cheat sheet.
const refusedTable: ReadonlyArray<readonly [string, string]> = [
  ["0.0.0.0/8", "unspecified"],
  ["10.0.0.0/8", "private"],
  ["100.64.0.0/10", "carrierGradeNat"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "linkLocal"],
  ["172.16.0.0/12", "private"],
  ["192.0.0.0/24", "reserved"],
  ["192.0.2.0/24", "documentation"],
  ["192.31.196.0/24", "as112"],
  ["192.52.193.0/24", "amt"],
  ["192.88.99.0/24", "6to4Relay"],
  ["192.168.0.0/16", "private"],
  ["192.175.48.0/24", "as112"],
  ["198.18.0.0/15", "benchmarking"],
  ["198.51.100.0/24", "documentation"],
  ["203.0.113.0/24", "documentation"],
  ["224.0.0.0/4", "multicast"],
  ["255.255.255.255/32", "broadcast"],
  ["240.0.0.0/4", "reserved"],
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  ["::/96", "ipv4Compatible"],
  ["::ffff:0:0:0/96", "ipv4Translated"],
  ["64:ff9b::/96", "nat64"],
  ["64:ff9b:1::/48", "nat64"],
  ["100::/64", "discard"],
  ["2001::/32", "teredo"],
  ["2001:2::/48", "benchmarking"],
  ["2001::/23", "ietfProtocol"],
  ["2001:db8::/32", "documentation"],
  ["2002::/16", "6to4"],
  ["3fff::/20", "documentation"],
  ["5f00::/16", "segmentRouting"],
  ["fc00::/7", "uniqueLocal"],
  ["fe80::/10", "linkLocal"],
  ["fec0::/10", "siteLocal"],
  ["ff00::/8", "multicast"]
]

const refused: ReadonlyArray<readonly [Cidr, string]> = refusedTable.map(([cidr, name]) => [
  ipaddr.parseCIDR(cidr),
  name
])

/** Words for the range names, for messages a user reads. */
const descriptions: Record<string, string> = {
  unspecified: "an unspecified address",
  private: "a private network address",
  carrierGradeNat: "a carrier-grade NAT address (100.64.0.0/10, where some clouds serve metadata)",
  loopback: "a loopback address",
  linkLocal: "a link-local address (where cloud metadata services live)",
  reserved: "a reserved address",
  documentation: "a documentation address",
  benchmarking: "a benchmarking address",
  multicast: "a multicast address",
  broadcast: "the broadcast address",
  ipv4Compatible: "an IPv4-compatible IPv6 address",
  ipv4Translated: "an IPv4-translated IPv6 address",
  nat64: "a NAT64 address (it reaches an IPv4 address through a translator)",
  discard: "a discard-only address",
  teredo: "a Teredo tunnel address",
  ietfProtocol: "an IETF protocol address",
  "6to4": "a 6to4 tunnel address",
  "6to4Relay": "a 6to4 relay address",
  segmentRouting: "a segment-routing address",
  uniqueLocal: "a unique-local IPv6 address (private network)",
  siteLocal: "a site-local IPv6 address (private network)",
  as112: "an AS112 address",
  amt: "an AMT relay address",
  unparsable: "not a valid IP address",
  own: "this server's own address"
}

/** A sentence fragment for a refused range, e.g. "a loopback address". */
export const describeRange = (range: string): string => {
  const mapped = range.startsWith("ipv4Mapped:") ? range.slice("ipv4Mapped:".length) : undefined
  if (mapped !== undefined) return `an IPv4-mapped IPv6 form of ${describeRange(mapped)}`
  return descriptions[range] ?? `a special-purpose address (${range})`
}

/** Parses an address as it comes from a URL host or a DNS answer (brackets and an IPv6 zone are accepted). */
export const parse = (text: string): Address | undefined => {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text
  // Only canonical spellings: WHATWG URL and DNS hand us those, and odd ones (`0x7f.1`) must not reach ipaddr.js's
  // lenient IPv4 parser as a second opinion.
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare)
  if (ipaddr.IPv6.isValid(bare)) return ipaddr.IPv6.parse(bare)
  return undefined
}

/** Parses a CIDR block, or a bare address as a block of one. */
export const parseCidr = (text: string): Cidr | undefined => {
  const trimmed = text.trim()
  if (!trimmed.includes("/")) {
    const address = parse(trimmed)
    return address === undefined ? undefined : [address, address.kind() === "ipv4" ? 32 : 128]
  }
  const [base = "", bits = ""] = trimmed.split("/")
  const address = parse(base)
  const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : Number.NaN
  if (address === undefined || !(prefix >= 0 && prefix <= (address.kind() === "ipv4" ? 32 : 128))) return undefined
  return [address, prefix]
}

const within = (address: Address, [base, bits]: Cidr): boolean =>
  address.kind() === base.kind() && address.match(base, bits)

const rangeOf = (address: Address): string => {
  for (const [cidr, name] of refused) if (within(address, cidr)) return name
  const named = address.range()
  return named
}

/** The address the kernel dials: the IPv4 address inside an IPv4-mapped one, else the address itself. */
const effectiveOf = (parsed: Address): Address =>
  parsed.kind() === "ipv6" && (parsed as IPv6).isIPv4MappedAddress() ? (parsed as IPv6).toIPv4Address() : parsed

/** Whether `parsed` (or the address it stands for) lies in one of `cidrs`. */
const inCidrs = (parsed: Address, cidrs: ReadonlyArray<Cidr>): boolean => {
  const effective = effectiveOf(parsed)
  return cidrs.some((cidr) => within(effective, cidr) || within(parsed, cidr))
}

/** Whether an address lies in one of `cidrs`. */
export const inAnyCidr = (text: string, cidrs: ReadonlyArray<Cidr>): boolean => {
  const parsed = parse(text)
  return parsed !== undefined && inCidrs(parsed, cidrs)
}

/**
 * Classifies one address. `allowedCidrs` are exceptions (a private deployment's own network, or a test origin):
 * an address inside one passes whatever its range.
 */
export const classify = (text: string, allowedCidrs: ReadonlyArray<Cidr> = []): Verdict => {
  const parsed = parse(text)
  if (parsed === undefined)
    return { allowed: false, address: text, family: text.includes(":") ? 6 : 4, range: "unparsable" }
  const family = parsed.kind() === "ipv4" ? 4 : 6
  const address = parsed.kind() === "ipv6" ? (parsed as IPv6).toRFC5952String() : parsed.toString()
  if (inCidrs(parsed, allowedCidrs)) return { allowed: true, address, family }
  const effective = effectiveOf(parsed)
  const range = rangeOf(effective)
  if (range === "unicast") return { allowed: true, address, family }
  return { allowed: false, address, family, range: effective === parsed ? range : `ipv4Mapped:${range}` }
}
