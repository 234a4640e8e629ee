/**
 * The media fetcher's address classifier and URL checks, without sockets.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Address from "../src/internal/address.js"
import * as Ssrf from "../src/internal/ssrf.js"

const strict: Ssrf.Policy = { allowPrivate: false, allowedCidrs: [] }

describe("address classifier", () => {
  const refused: ReadonlyArray<readonly [string, string]> = [
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "unspecified"],
    ["10.0.0.1", "private"],
    ["100.64.0.1", "carrierGradeNat"],
    ["100.100.100.200", "carrierGradeNat"],
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["169.254.169.254", "linkLocal"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.0.0.170", "reserved"],
    ["192.0.2.1", "documentation"],
    ["192.88.99.1", "6to4Relay"],
    ["192.168.1.1", "private"],
    ["198.18.0.1", "benchmarking"],
    ["198.51.100.7", "documentation"],
    ["203.0.113.9", "documentation"],
    ["224.0.0.251", "multicast"],
    ["239.255.255.250", "multicast"],
    ["240.0.0.1", "reserved"],
    ["255.255.255.255", "broadcast"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["::7f00:1", "ipv4Compatible"],
    ["::ffff:7f00:1", "ipv4Mapped:loopback"],
    ["::ffff:127.0.0.1", "ipv4Mapped:loopback"],
    ["::ffff:a9fe:a9fe", "ipv4Mapped:linkLocal"],
    ["::ffff:10.1.2.3", "ipv4Mapped:private"],
    ["::ffff:0:7f00:1", "ipv4Translated"],
    ["64:ff9b::7f00:1", "nat64"],
    ["64:ff9b::808:808", "nat64"],
    ["64:ff9b:1::1", "nat64"],
    ["100::1", "discard"],
    ["2001::1", "teredo"],
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2", "teredo"],
    ["2001:2::1", "benchmarking"],
    ["2001:10::1", "ietfProtocol"],
    ["2001:db8::1", "documentation"],
    ["2002:7f00:1::", "6to4"],
    ["2002:c0a8:101::1", "6to4"],
    ["3fff::1", "documentation"],
    ["5f00::1", "segmentRouting"],
    ["fc00::1", "uniqueLocal"],
    ["fd00:ec2::254", "uniqueLocal"],
    ["fe80::1", "linkLocal"],
    ["fe80::1%eth0", "linkLocal"],
    ["fec0::1", "siteLocal"],
    ["ff02::1", "multicast"]
  ]

  it.each(refused)("refuses %s (%s)", (address, range) => {
    const verdict = Address.classify(address)
    expect(verdict.allowed).toBe(false)
    expect(verdict.allowed === false && verdict.range).toBe(range)
  })

  it.each(["1.1.1.1", "8.8.8.8", "93.184.216.34", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "2a00:1450::1"])(
    "allows the global unicast address %s",
    (address) => {
      expect(Address.classify(address).allowed).toBe(true)
    }
  )

  it("judges an IPv4-mapped address by the IPv4 address inside", () => {
    expect(Address.classify("::ffff:8.8.8.8").allowed).toBe(true)
    expect(Address.classify("::ffff:808:808").allowed).toBe(true)
  })

  it("only parses canonical spellings (odd forms are never a second opinion)", () => {
    expect(Address.classify("0x7f.1")).toMatchObject({ allowed: false, range: "unparsable" })
    expect(Address.classify("127.1")).toMatchObject({ allowed: false, range: "unparsable" })
    expect(Address.classify("not an address")).toMatchObject({ allowed: false, range: "unparsable" })
  })

  it("lets allowed CIDR blocks through, mapped forms included, and nothing else", () => {
    const allowed = [Address.parseCidr("127.0.0.1/32")!, Address.parseCidr("fd00::/8")!]
    expect(Address.classify("127.0.0.1", allowed).allowed).toBe(true)
    expect(Address.classify("::ffff:127.0.0.1", allowed).allowed).toBe(true)
    expect(Address.classify("127.0.0.2", allowed).allowed).toBe(false)
    expect(Address.classify("fd12::1", allowed).allowed).toBe(true)
    expect(Address.classify("fe80::1", allowed).allowed).toBe(false)
  })

  it("parses CIDR blocks and single addresses, and rejects the rest", () => {
    expect(Address.parseCidr("10.0.0.0/8")?.[1]).toBe(8)
    expect(Address.parseCidr(" 10.1.2.3 ")?.[1]).toBe(32)
    expect(Address.parseCidr("::1")?.[1]).toBe(128)
    expect(Address.parseCidr("10.0.0.0/33")).toBeUndefined()
    expect(Address.parseCidr("10.0.0.0/")).toBeUndefined()
    expect(Address.parseCidr("fd00::/129")).toBeUndefined()
    expect(Address.parseCidr("example.com")).toBeUndefined()
    expect(Address.parseCidr("10.0.0/8")).toBeUndefined()
  })

  it("describes ranges in words", () => {
    expect(Address.describeRange("loopback")).toBe("a loopback address")
    expect(Address.describeRange("ipv4Mapped:private")).toBe("an IPv4-mapped IPv6 form of a private network address")
    expect(Address.describeRange("somethingNew")).toContain("somethingNew")
  })
})

describe("URL checks", () => {
  it.each([
    ["http://2130706433/", "127.0.0.1", "loopback"],
    ["http://0x7f000001/", "127.0.0.1", "loopback"],
    ["http://0x7f.1/", "127.0.0.1", "loopback"],
    ["http://0177.0.0.1/", "127.0.0.1", "loopback"],
    ["http://0177.1/", "127.0.0.1", "loopback"],
    ["http://127.1/", "127.0.0.1", "loopback"],
    ["http://127.0.0.1./", "127.0.0.1", "loopback"],
    ["http://\u2460\u2461\u2466.0.0.1/", "127.0.0.1", "loopback"],
    ["http://0/", "0.0.0.0", "unspecified"],
    ["http://0.0.0.0/", "0.0.0.0", "unspecified"],
    ["https://[::1]/", "::1", "loopback"],
    ["http://[::]/", "::", "unspecified"],
    ["http://[::ffff:127.0.0.1]/", "::ffff:7f00:1", "ipv4Mapped:loopback"],
    ["http://[0:0:0:0:0:ffff:7f00:1]/", "::ffff:7f00:1", "ipv4Mapped:loopback"],
    ["http://[::ffff:a9fe:a9fe]/", "::ffff:a9fe:a9fe", "ipv4Mapped:linkLocal"],
    ["http://169.254.169.254/latest/meta-data/", "169.254.169.254", "linkLocal"],
    ["http://0xa9fea9fe/", "169.254.169.254", "linkLocal"],
    ["http://100.100.100.200/", "100.100.100.200", "carrierGradeNat"],
    ["http://[fd00:ec2::254]/", "fd00:ec2::254", "uniqueLocal"],
    ["http://[64:ff9b::7f00:1]/", "64:ff9b::7f00:1", "nat64"],
    ["http://[2002:7f00:1::]/", "2002:7f00:1::", "6to4"],
    ["http://10.0.0.1:8080/", "10.0.0.1", "private"],
    ["http://[::127.0.0.1]/", "::7f00:1", "ipv4Compatible"]
  ])("refuses the IP literal in %s", (url, address, range) => {
    expect(Ssrf.checkUrl(url, strict)).toMatchObject({ _tag: "Refused", address, range })
  })

  it.each([
    "http://localhost/",
    "http://LOCALHOST.:80/",
    "http://a.localhost/",
    "http://printer.local/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://router.home.arpa/",
    "http://nas.lan/",
    "http://evil.test/",
    "http://x.invalid/",
    "http://media.example/",
    "http://intranet/",
    "http://intranet./"
  ])("refuses the local-only name in %s", (url) => {
    expect(Ssrf.checkUrl(url, strict)).toMatchObject({ _tag: "Refused", range: "localName" })
  })

  it.each([
    ["", "empty"],
    ["not a url", "not a valid absolute URL"],
    ["/relative/path.jpg", "not a valid absolute URL"],
    ["ftp://example.com/a.jpg", '"ftp:"'],
    ["file:///etc/passwd", '"file:"'],
    ["gopher://example.com:70/", '"gopher:"'],
    ["data:image/png;base64,AAAA", '"data:"'],
    ["javascript:alert(1)", '"javascript:"'],
    ["http://user:pass@example.com/", "credentials"],
    ["http://user@example.com/", "credentials"],
    ["http://example.com:0/", "port 0"],
    ["http://example.com:65536/", "not a valid absolute URL"],
    ["http://[fe80::1%25lo]/", "not a valid absolute URL"],
    ["http://[::1/", "not a valid absolute URL"],
    [`https://example.com/${"a".repeat(9000)}`, "longer than"]
  ])("rejects %j as invalid", (url, reason) => {
    const check = Ssrf.checkUrl(url, strict)
    expect(check._tag).toBe("Invalid")
    expect(check._tag === "Invalid" && check.reason).toContain(reason)
  })

  it("accepts public names and addresses on any port", () => {
    expect(Ssrf.checkUrl("https://cdn.example.com/a.jpg", strict)).toMatchObject({
      _tag: "Ok",
      target: { _tag: "Name", name: "cdn.example.com" }
    })
    expect(Ssrf.checkUrl("http://8.8.8.8:8443/a.jpg", strict)).toMatchObject({
      _tag: "Ok",
      target: { _tag: "Literal", address: "8.8.8.8", family: 4 }
    })
    expect(Ssrf.checkUrl("http://[2606:4700::1111]/a.jpg", strict)).toMatchObject({
      _tag: "Ok",
      target: { _tag: "Literal", address: "2606:4700::1111", family: 6 }
    })
  })

  it("with allowPrivate, skips address and name checks but keeps scheme and credential checks", () => {
    const open: Ssrf.Policy = { allowPrivate: true, allowedCidrs: [] }
    expect(Ssrf.checkUrl("http://127.0.0.1/", open)._tag).toBe("Ok")
    expect(Ssrf.checkUrl("http://localhost/", open)._tag).toBe("Ok")
    expect(Ssrf.checkUrl("http://[::1]/", open)._tag).toBe("Ok")
    expect(Ssrf.checkUrl("file:///etc/passwd", open)._tag).toBe("Invalid")
    expect(Ssrf.checkUrl("http://a:b@127.0.0.1/", open)._tag).toBe("Invalid")
  })

  it("lets allowed CIDR blocks through but still refuses local-only names", () => {
    const policy: Ssrf.Policy = { allowPrivate: false, allowedCidrs: [Address.parseCidr("127.0.0.1/32")!] }
    expect(Ssrf.checkUrl("http://127.0.0.1:8080/", policy)._tag).toBe("Ok")
    expect(Ssrf.checkUrl("http://127.0.0.2:8080/", policy)._tag).toBe("Refused")
    expect(Ssrf.checkUrl("http://localhost:8080/", policy)._tag).toBe("Refused")
  })
})

describe("guarded lookup", () => {
  const run = (
    answers: ReadonlyArray<{ address: string; family: number }>,
    options: { all?: boolean; family?: number }
  ) =>
    new Promise<{ error: NodeJS.ErrnoException | null; address: unknown; family: unknown }>((resolve) => {
      const lookup = Ssrf.guardedLookup(() => Promise.resolve(answers), strict)
      lookup("media.example.com", options, (error, address, family) => resolve({ error, address, family }))
    })

  it("answers in the form Node asked for", async () => {
    const answers = [
      { address: "93.184.216.34", family: 4 },
      { address: "2606:2800:220:1:248:1893:25c8:1946", family: 6 }
    ]
    expect(await run(answers, { all: true })).toMatchObject({ error: null, address: answers })
    expect(await run(answers, {})).toMatchObject({ error: null, address: "93.184.216.34", family: 4 })
    expect(await run(answers, { family: 6 })).toMatchObject({ address: answers[1]!.address, family: 6 })
  })

  it("refuses when any answer is refused, whatever the order", async () => {
    for (const answers of [
      [
        { address: "93.184.216.34", family: 4 },
        { address: "127.0.0.1", family: 4 }
      ],
      [
        { address: "10.0.0.1", family: 4 },
        { address: "93.184.216.34", family: 4 }
      ],
      [{ address: "::ffff:169.254.169.254", family: 6 }]
    ]) {
      const { error } = await run(answers, { all: true })
      expect(error).toBeInstanceOf(Ssrf.RefusedAddressError)
    }
  })

  it("reports a name without addresses as not found, and passes resolver failures on", async () => {
    expect((await run([], { all: true })).error?.code).toBe("ENOTFOUND")
    const failing = Ssrf.guardedLookup(
      () => Promise.reject(Object.assign(new Error("nope"), { code: "EAI_AGAIN" })),
      strict
    )
    const code = await new Promise((resolve) => failing("x.example.com", {}, (error) => resolve(error?.code)))
    expect(code).toBe("EAI_AGAIN")
  })
})
