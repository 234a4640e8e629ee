/**
 * The media fetcher against real sockets on loopback: an origin on 127.0.0.1 serving the fixture media (reached
 * through `allowedCidrs: ["127.0.0.1/32"]`), a TLS origin for `media.example.net`, and a canary listening on every
 * local address (`::`, dual-stack) that counts connections: every SSRF refusal is shown to reach no socket at all,
 * and the same URLs are shown to reach the canary when `allowPrivate` is on, so a zero count means something.
 */
import { EventEmitter, once } from "node:events"
import { existsSync, readFileSync } from "node:fs"
import { readFile, stat, writeFile } from "node:fs/promises"
import * as http from "node:http"
import * as https from "node:https"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as MediaFetcher from "../src/MediaFetcher.js"

const fixture = (name: string) => readFileSync(new URL(`./fixtures/media/${name}`, import.meta.url))
const media: Record<string, Buffer> = Object.fromEntries(
  ["photo.jpg", "photo.png", "photo.webp", "anim.gif", "clip.mp4", "clip.webm"].map((n) => [n, fixture(n)])
)
const tlsCert = fixture("tls-cert.pem").toString()
const tlsKey = fixture("tls-key.pem").toString()
const jpegHead = media["photo.jpg"]!.subarray(0, 300)

// ---------------------------------------------------------------------------------------------------------------
// Loopback servers

interface Seen {
  readonly path: string
  readonly headers: http.IncomingHttpHeaders
  readonly localAddress: string | undefined
  readonly servername: string | undefined
}

interface Origin {
  readonly port: number
  readonly connections: () => number
  readonly requests: Array<Seen>
  /** Emits `request:<path>`, `sent:<path>` (the first bytes of a stalled body are out) and `close:<path>`. */
  readonly events: EventEmitter
  readonly close: () => Promise<void>
}

/** Serves fixture media under `/media/<name>` (with a lying Content-Type) and misbehaving answers elsewhere. */
const handler =
  (events: EventEmitter, requests: Array<Seen>) =>
  (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? "/", "http://origin")
    const path = url.pathname
    requests.push({
      path: `${path}${url.search}`,
      headers: req.headers,
      localAddress: req.socket.localAddress,
      servername: (req.socket as { servername?: string | false }).servername || undefined
    })
    events.emit(`request:${path}`)
    res.on("close", () => events.emit(`close:${path}`))
    res.on("error", () => {})
    const name = path.startsWith("/media/") ? path.slice("/media/".length) : undefined
    if (name !== undefined && media[name] !== undefined) {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": media[name]!.length })
      res.end(media[name])
      return
    }
    const hops = /^\/hops\/(\d+)$/.exec(path)
    if (hops) {
      const n = Number(hops[1])
      res.writeHead(302, { location: n === 0 ? "/media/photo.jpg" : `/hops/${n - 1}` })
      res.end()
      return
    }
    switch (path) {
      case "/to": {
        res.writeHead(Number(url.searchParams.get("status") ?? 302), { location: url.searchParams.get("url") ?? "/" })
        res.end("<html>moved</html>")
        return
      }
      case "/cookie": {
        res.writeHead(302, { "set-cookie": "session=secret; Path=/", location: "/media/photo.jpg" })
        res.end()
        return
      }
      case "/html-as-jpeg": {
        res.writeHead(200, { "content-type": "image/jpeg" })
        res.end("<!DOCTYPE html><html><head><title>internal-secret-token</title></head><body>hi</body></html>")
        return
      }
      case "/svg": {
        res.writeHead(200, { "content-type": "image/svg+xml" })
        res.end('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>')
        return
      }
      case "/pdf": {
        res.writeHead(200, { "content-type": "image/png" })
        res.end(Buffer.concat([Buffer.from("%PDF-1.7\n"), Buffer.alloc(400, 0x20)]))
        return
      }
      case "/text": {
        res.writeHead(200, { "content-type": "text/plain" })
        res.end("hello, this is not an image at all; it is long enough to be sniffed as plain text.".repeat(5))
        return
      }
      case "/empty": {
        res.writeHead(200, { "content-type": "image/jpeg", "content-length": 0 })
        res.end()
        return
      }
      case "/gzip": {
        res.writeHead(200, { "content-type": "image/jpeg", "content-encoding": "gzip" })
        res.end(Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0]))
        return
      }
      case "/truncated": {
        res.writeHead(200, { "content-type": "image/jpeg", "content-length": 5000 })
        res.write(jpegHead, () => res.destroy())
        return
      }
      case "/declared-huge": {
        // Announces 10 MB, sends a valid head, then stalls: the fetcher must not wait for the rest.
        res.writeHead(200, { "content-type": "image/jpeg", "content-length": 10_000_000 })
        res.write(jpegHead)
        return
      }
      case "/endless":
      case "/endless-html": {
        // Chunked and never ending: only the fetcher closing the socket stops it.
        res.writeHead(200, { "content-type": "image/jpeg" })
        const chunk = Buffer.alloc(16 * 1024, 0x41)
        res.write(path === "/endless" ? jpegHead : Buffer.from(`<!doctype html><html>${"<p>x</p>".repeat(40)}`))
        let open = true
        res.on("close", () => {
          open = false
        })
        const pump = () => {
          while (open && !req.socket.destroyed && res.write(chunk)) {}
          if (open && !req.socket.destroyed) res.once("drain", pump)
        }
        pump()
        return
      }
      case "/slow": {
        // A valid head, then nothing: only a deadline (or an interruption) ends the download.
        res.writeHead(200, { "content-type": "image/jpeg" })
        res.write(jpegHead, () => events.emit(`sent:${path}`))
        return
      }
    }
    const status = /^\/status\/(\d{3})$/.exec(path)
    res.writeHead(status ? Number(status[1]) : 404, { "content-type": "text/html" })
    res.end("<html>internal error details</html>")
  }

const listen = async (server: http.Server, host: string): Promise<Origin> => {
  let connections = 0
  server.on("connection", () => connections++)
  server.on("secureConnection", () => {})
  server.listen(0, host)
  await once(server, "listening")
  const events = new EventEmitter()
  events.setMaxListeners(100)
  const requests: Array<Seen> = []
  server.on("request", handler(events, requests))
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    requests,
    events,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

let origin: Origin
let canary: Origin
let tls: Origin
let closedPort: number

beforeAll(async () => {
  origin = await listen(http.createServer(), "127.0.0.1")
  canary = await listen(http.createServer(), "::") // dual-stack: 127.x, 0.0.0.0, ::1, ::ffff:127.x
  tls = await listen(https.createServer({ key: tlsKey, cert: tlsCert }) as unknown as http.Server, "127.0.0.1")
  const probe = http.createServer()
  probe.listen(0, "127.0.0.1")
  await once(probe, "listening")
  closedPort = (probe.address() as AddressInfo).port
  await new Promise((resolve) => probe.close(resolve))
})

afterAll(async () => {
  await Promise.all([origin.close(), canary.close(), tls.close()])
})

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** A resolver from a fixed table that counts its calls (no public DNS in tests). */
const fakeDns = (table: Record<string, ReadonlyArray<string>>) => {
  const calls: Array<string> = []
  const lookup: MediaFetcher.Lookup = async (hostname) => {
    calls.push(hostname)
    const addresses = table[hostname]
    if (addresses === undefined)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" })
    return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }))
  }
  return { lookup, calls }
}

const dns = fakeDns({
  "media.example.net": ["127.0.0.1"],
  "evil.example.com": ["127.0.0.1"],
  "evil6.example.com": ["::1"],
  "mixed.example.com": ["93.184.216.34", "127.0.0.1"],
  "mixed-reverse.example.com": ["10.0.0.7", "93.184.216.34"],
  "metadata.example.com": ["::ffff:169.254.169.254"],
  "private.example.com": ["127.0.0.3"]
})

/** The fetcher the server would run, plus the loopback origin as an exception. */
const fetcherFor = (options: MediaFetcher.Options = {}) =>
  MediaFetcher.make({ allowedCidrs: ["127.0.0.1/32"], lookup: dns.lookup, ca: tlsCert, ...options })

/** The fetcher with no exception at all. */
const strictFetcher = MediaFetcher.make({ lookup: dns.lookup })

const at = (server: Origin, path: string) => `http://127.0.0.1:${server.port}${path}`

const failure = <A, E>(effect: Effect.Effect<A, E>) => Effect.flip(effect)

const tmpPath = (name: string) => join(tmpdir(), `facedet-media-${process.pid}-${Date.now()}-${name}`)

/** Waits for an origin event registered before the action that causes it. */
const waitFor = (server: Origin, event: string) => {
  const promise = once(server.events, event)
  return Effect.promise(() => promise)
}

// ---------------------------------------------------------------------------------------------------------------

describe("MediaFetcher", () => {
  describe("downloads", () => {
    it.effect.each([
      ["photo.jpg", "jpeg"],
      ["photo.png", "png"],
      ["photo.webp", "webp"],
      ["anim.gif", "gif"]
    ] as const)("fetches %s as an image, the format sniffed from the bytes", ([name, format]) =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor()
        const got = yield* fetcher.fetchBytes(at(origin, `/media/${name}`), { kind: "image" })
        expect(got.format).toBe(format)
        expect(Buffer.from(got.bytes).equals(media[name]!)).toBe(true)
        expect(got.contentType).toBe("application/octet-stream") // what the server said, not what was used
        expect(got.finalUrl).toBe(at(origin, `/media/${name}`))
        expect(got.remoteAddress).toBe("127.0.0.1")
      })
    )

    it.effect.each([
      ["clip.mp4", "mp4"],
      ["clip.webm", "webm"],
      ["anim.gif", "gif"],
      ["photo.webp", "webp"]
    ] as const)("fetches %s as a video into a 0600 file", ([name, format]) =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor()
        const path = tmpPath(name)
        const got = yield* fetcher.fetchToFile(at(origin, `/media/${name}`), { kind: "video", path })
        expect(got).toMatchObject({ path, format, size: media[name]!.length })
        const written = yield* Effect.promise(() => readFile(path))
        expect(written.equals(media[name]!)).toBe(true)
        expect((yield* Effect.promise(() => stat(path))).mode & 0o777).toBe(0o600)
        yield* Effect.promise(() => import("node:fs/promises").then((fs) => fs.rm(path)))
      })
    )

    it.effect("sends a fixed User-Agent, asks for media without compression, and never forwards cookies", () =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor()
        const before = origin.requests.length
        yield* fetcher.fetchBytes(at(origin, "/cookie"), { kind: "image" })
        const [first, second] = origin.requests.slice(before)
        expect(second?.path).toBe("/media/photo.jpg")
        for (const seen of [first!, second!]) {
          expect(seen.headers["user-agent"]).toBe(MediaFetcher.defaults.userAgent)
          expect(seen.headers.accept).toContain("image/jpeg")
          expect(seen.headers["accept-encoding"]).toBe("identity")
          expect(seen.headers.cookie).toBeUndefined()
          expect(seen.headers.authorization).toBeUndefined()
        }
      })
    )

    it.effect("speaks TLS with the original name as SNI and Host, pinned to the checked address", () =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor()
        const callsBefore = dns.calls.length
        const url = `https://media.example.net:${tls.port}/media/photo.png`
        const got = yield* fetcher.fetchBytes(url, { kind: "image" })
        expect(got.format).toBe("png")
        const seen = tls.requests.at(-1)!
        expect(seen.servername).toBe("media.example.net")
        expect(seen.headers.host).toBe(`media.example.net:${tls.port}`)
        expect(dns.calls.slice(callsBefore)).toEqual(["media.example.net"]) // one query, then that address dialled
      })
    )

    it.effect("verifies TLS certificates (an untrusted one is a download failure)", () =>
      Effect.gen(function* () {
        const fetcher = yield* MediaFetcher.make({ allowedCidrs: ["127.0.0.1/32"], lookup: dns.lookup })
        const error = yield* failure(
          fetcher.fetchBytes(`https://media.example.net:${tls.port}/media/photo.png`, { kind: "image" })
        )
        expect(error).toMatchObject({ _tag: "DownloadFailed", code: "DEPTH_ZERO_SELF_SIGNED_CERT" })
        expect(error.message).toContain("TLS certificate")
      })
    )
  })

  describe("redirects", () => {
    it.effect("follows up to 5 redirects, each one checked", () =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor()
        const got = yield* fetcher.fetchBytes(at(origin, "/hops/4"), { kind: "image" })
        expect(got.format).toBe("jpeg")
        expect(got.finalUrl).toBe(at(origin, "/media/photo.jpg"))
      })
    )

    it.effect("refuses a 6th redirect without requesting its target", () =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor()
        const before = origin.requests.length
        const error = yield* failure(fetcher.fetchBytes(at(origin, "/hops/5"), { kind: "image" }))
        expect(error).toMatchObject({ _tag: "DownloadFailed" })
        expect(error.message).toContain("more than 5 redirects")
        const paths = origin.requests.slice(before).map((r) => r.path)
        expect(paths).toEqual(["/hops/5", "/hops/4", "/hops/3", "/hops/2", "/hops/1", "/hops/0"])
      })
    )

    it.effect("follows redirects across http and https, checking each hop", () =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor()
        const target = `https://media.example.net:${tls.port}/media/photo.webp`
        const got = yield* fetcher.fetchBytes(at(origin, `/to?status=301&url=${encodeURIComponent(target)}`), {
          kind: "image"
        })
        expect(got).toMatchObject({ format: "webp", finalUrl: target })
      })
    )

    const refusedHops = () => [
      [`http://127.0.0.2:${canary.port}/media/photo.jpg`, "loopback"],
      [`http://[::1]:${canary.port}/media/photo.jpg`, "loopback"],
      [`http://[::ffff:127.0.0.2]:${canary.port}/media/photo.jpg`, "ipv4Mapped:loopback"],
      [`http://0.0.0.0:${canary.port}/media/photo.jpg`, "unspecified"],
      [`http://2130706434:${canary.port}/media/photo.jpg`, "loopback"],
      ["http://169.254.169.254/latest/meta-data/", "linkLocal"],
      ["http://10.0.0.1/", "private"],
      [`http://private.example.com:${canary.port}/media/photo.jpg`, "loopback"],
      [`http://localhost:${canary.port}/media/photo.jpg`, "localName"],
      [`https://private.example.com:${canary.port}/media/photo.jpg`, "loopback"],
      ["file:///etc/passwd", "scheme"],
      ["gopher://127.0.0.1:6379/_INFO", "scheme"],
      [`http://user:pw@127.0.0.1:${origin.port}/media/photo.jpg`, "credentials"]
    ]

    it.effect("refuses a hop to a refused address, name or scheme, and never contacts it", () =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor()
        for (const [target, range] of refusedHops()) {
          const before = canary.connections()
          const error = yield* failure(
            fetcher.fetchBytes(at(origin, `/to?url=${encodeURIComponent(target!)}`), { kind: "image" })
          )
          expect(error, target).toMatchObject({ _tag: "Forbidden", stage: "redirect", range })
          expect(canary.connections(), target).toBe(before)
        }
      })
    )

    it.effect("refuses a redirect from an https origin to a private http address", () =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor()
        const target = `http://127.0.0.2:${canary.port}/media/photo.jpg`
        const before = canary.connections()
        const error = yield* failure(
          fetcher.fetchBytes(`https://media.example.net:${tls.port}/to?url=${encodeURIComponent(target)}`, {
            kind: "image"
          })
        )
        expect(error).toMatchObject({ _tag: "Forbidden", stage: "redirect", range: "loopback" })
        expect(canary.connections()).toBe(before)
      })
    )

    it.effect("fails a redirect without a Location, and does not follow 300 or 304", () =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor()
        const missing = yield* failure(fetcher.fetchBytes(at(origin, "/to?url="), { kind: "image" }))
        expect(missing).toMatchObject({ _tag: "DownloadFailed", status: 302 })
        const multiple = yield* failure(
          fetcher.fetchBytes(at(origin, "/to?status=300&url=/media/photo.jpg"), { kind: "image" })
        )
        expect(multiple).toMatchObject({ _tag: "DownloadFailed", status: 300 })
      })
    )
  })

  describe("SSRF refusals", () => {
    // Each URL would reach the canary (the last column says how): refused, it must not get a single connection.
    const spellings = () => [
      `http://2130706433:${canary.port}/media/photo.jpg`,
      `http://0x7f000001:${canary.port}/media/photo.jpg`,
      `http://0x7f.1:${canary.port}/media/photo.jpg`,
      `http://0177.0.0.1:${canary.port}/media/photo.jpg`,
      `http://127.1:${canary.port}/media/photo.jpg`,
      `http://127.0.0.2:${canary.port}/media/photo.jpg`,
      `http://\u2460\u2461\u2466.0.0.1:${canary.port}/media/photo.jpg`,
      `http://[::1]:${canary.port}/media/photo.jpg`,
      `http://[::ffff:127.0.0.1]:${canary.port}/media/photo.jpg`,
      `http://[0:0:0:0:0:ffff:7f00:1]:${canary.port}/media/photo.jpg`,
      `http://0.0.0.0:${canary.port}/media/photo.jpg`,
      `http://0:${canary.port}/media/photo.jpg`,
      `http://evil.example.com:${canary.port}/media/photo.jpg`,
      `http://evil6.example.com:${canary.port}/media/photo.jpg`,
      `http://mixed.example.com:${canary.port}/media/photo.jpg`
    ]

    it.effect("every spelling of a local address reaches the canary when allowPrivate is on (control)", () =>
      Effect.gen(function* () {
        const fetcher = yield* MediaFetcher.make({ allowPrivate: true, lookup: dns.lookup })
        for (const url of spellings()) {
          const before = canary.connections()
          const got = yield* fetcher.fetchBytes(url, { kind: "image" })
          expect(got.format, url).toBe("jpeg")
          expect(canary.connections(), url).toBe(before + 1)
        }
      })
    )

    it.effect("refuses every spelling, at create time for literals and at fetch time for names", () =>
      Effect.gen(function* () {
        const fetcher = yield* strictFetcher
        for (const url of spellings()) {
          const before = canary.connections()
          const isName = url.includes(".example.com")
          const checked = fetcher.checkUrl(url)
          expect(Either.isLeft(checked), url).toBe(!isName)
          const error = yield* failure(fetcher.fetchBytes(url, { kind: "image" }))
          expect(error, url).toMatchObject({ _tag: "Forbidden", stage: isName ? "dns" : "url" })
          const file = tmpPath("refused")
          const fileError = yield* failure(fetcher.fetchToFile(url, { kind: "video", path: file }))
          expect(fileError._tag, url).toBe("Forbidden")
          expect(existsSync(file)).toBe(false)
          expect(canary.connections(), url).toBe(before)
        }
      })
    )

    it.effect.each([
      ["http://169.254.169.254/latest/meta-data/", "linkLocal"],
      ["http://[::ffff:a9fe:a9fe]/", "ipv4Mapped:linkLocal"],
      ["http://100.100.100.200/", "carrierGradeNat"],
      ["http://[fd00:ec2::254]/", "uniqueLocal"],
      ["http://[64:ff9b::7f00:1]/", "nat64"],
      ["http://[2002:7f00:1::]/", "6to4"],
      ["http://10.0.0.1/", "private"],
      ["http://192.168.0.1:8080/", "private"],
      ["http://localhost/", "localName"],
      ["http://a.localhost/", "localName"],
      ["http://metadata.google.internal/computeMetadata/v1/", "localName"]
    ] as const)("refuses %s without resolving or connecting", ([url, range]) =>
      Effect.gen(function* () {
        const fetcher = yield* strictFetcher
        const calls = dns.calls.length
        const checked = fetcher.checkUrl(url)
        expect(Either.isLeft(checked) && checked.left).toMatchObject({ _tag: "Forbidden", stage: "url", range })
        const error = yield* failure(fetcher.fetchBytes(url, { kind: "image" }))
        expect(error).toMatchObject({ _tag: "Forbidden", range })
        expect(dns.calls.length).toBe(calls)
      })
    )

    it.effect("refuses a name when any of its addresses is refused, and does not reveal which address", () =>
      Effect.gen(function* () {
        const fetcher = yield* strictFetcher
        for (const name of ["mixed.example.com", "mixed-reverse.example.com", "metadata.example.com"]) {
          const error = yield* failure(fetcher.fetchBytes(`http://${name}/a.jpg`, { kind: "image" }))
          expect(error, name).toMatchObject({ _tag: "Forbidden", stage: "dns" })
          expect(error._tag === "Forbidden" && error.address).toBeTruthy() // kept for logs
          expect(error.message).not.toMatch(/127\.0\.0\.1|10\.0\.0\.7|169\.254/)
        }
      })
    )

    it.effect("rejects the zone-id form [fe80::1%25lo] as an invalid URL", () =>
      Effect.gen(function* () {
        const fetcher = yield* strictFetcher
        const error = yield* failure(fetcher.fetchBytes("http://[fe80::1%25lo]/", { kind: "image" }))
        expect(error._tag).toBe("InvalidUrl")
      })
    )

    it.effect("resolves once per connection: a rebinding resolver gets no second answer in", () =>
      Effect.gen(function* () {
        let calls = 0
        const fetcher = yield* MediaFetcher.make({
          allowedCidrs: ["127.0.0.1/32"],
          // First answer allowed, every later one private: a second query would be refused or land elsewhere.
          lookup: async () => [{ address: calls++ === 0 ? "127.0.0.1" : "127.0.0.2", family: 4 }]
        })
        const got = yield* fetcher.fetchBytes(`http://rebind.example.com:${canary.port}/media/photo.jpg`, {
          kind: "image"
        })
        expect(got.remoteAddress).toBe("127.0.0.1")
        expect(calls).toBe(1)
        const seen = canary.requests.at(-1)!
        expect(seen.localAddress).toBe("::ffff:127.0.0.1")
        expect(seen.headers.host).toBe(`rebind.example.com:${canary.port}`)
      })
    )
  })

  describe("bad media", () => {
    it.effect("refuses HTML served as image/jpeg without echoing the body", () =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor()
        const error = yield* failure(fetcher.fetchBytes(at(origin, "/html-as-jpeg"), { kind: "image" }))
        expect(error).toMatchObject({ _tag: "UnsupportedFormat", detected: "html", contentType: "image/jpeg" })
        expect(error.message).toContain("HTML")
        expect(error.message).not.toContain("internal-secret-token")
      })
    )

    it.effect.each([
      ["/svg", "image", "svg"],
      ["/pdf", "image", "pdf"],
      ["/text", "image", "text"],
      ["/media/clip.mp4", "image", "mp4"],
      ["/media/photo.jpg", "video", "jpeg"],
      ["/media/photo.png", "video", "png"]
    ] as const)("refuses %s as kind %s (%s)", ([path, kind, detected]) =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor()
        const error = yield* failure(fetcher.fetchBytes(at(origin, path), { kind }))
        expect(error).toMatchObject({ _tag: "UnsupportedFormat", kind, detected })
      })
    )

    it.effect("stops an endless non-media stream after its first bytes", () =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor()
        const closed = waitFor(origin, "close:/endless-html")
        const error = yield* failure(fetcher.fetchBytes(at(origin, "/endless-html"), { kind: "image" }))
        expect(error).toMatchObject({ _tag: "UnsupportedFormat", detected: "html" })
        yield* closed
      })
    )

    it.effect("fails on an HTTP error status, an empty body, a compressed body and a truncated body", () =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor()
        const notFound = yield* failure(fetcher.fetchBytes(at(origin, "/status/404"), { kind: "image" }))
        expect(notFound).toMatchObject({ _tag: "DownloadFailed", status: 404 })
        expect(notFound.message).toContain("HTTP 404")
        expect(notFound.message).not.toContain("internal error details")
        const serverError = yield* failure(fetcher.fetchBytes(at(origin, "/status/503"), { kind: "image" }))
        expect(serverError).toMatchObject({ _tag: "DownloadFailed", status: 503 })
        const empty = yield* failure(fetcher.fetchBytes(at(origin, "/empty"), { kind: "image" }))
        expect(empty).toMatchObject({ _tag: "DownloadFailed" })
        expect(empty.message).toContain("empty")
        const gzip = yield* failure(fetcher.fetchBytes(at(origin, "/gzip"), { kind: "image" }))
        expect(gzip.message).toContain("Content-Encoding: gzip")
        const truncated = yield* failure(fetcher.fetchBytes(at(origin, "/truncated"), { kind: "image" }))
        expect(truncated).toMatchObject({ _tag: "DownloadFailed" })
        expect(truncated.message).toContain("closed before")
      })
    )

    it.effect("fails on an unreachable host (a closed port) and on a name that does not resolve", () =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor()
        const refused = yield* failure(fetcher.fetchBytes(`http://127.0.0.1:${closedPort}/a.jpg`, { kind: "image" }))
        expect(refused).toMatchObject({ _tag: "DownloadFailed", code: "ECONNREFUSED" })
        const unknown = yield* failure(fetcher.fetchBytes("http://no-such-host.example.org/a.jpg", { kind: "image" }))
        expect(unknown).toMatchObject({ _tag: "DownloadFailed", code: "ENOTFOUND" })
        expect(unknown.message).toContain("could not be resolved")
      })
    )
  })

  describe("limits", () => {
    it.effect("refuses a declared Content-Length over the limit before reading the body", () =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor({ maxImageBytes: 1_000_000 })
        const closed = waitFor(origin, "close:/declared-huge")
        const error = yield* failure(fetcher.fetchBytes(at(origin, "/declared-huge"), { kind: "image" }))
        expect(error).toMatchObject({ _tag: "TooLarge", kind: "image", limit: 1_000_000, declared: 10_000_000 })
        expect(error.message).toContain("Content-Length")
        yield* closed
      })
    )

    it.effect("counts streamed bytes without a Content-Length and closes the socket once over", () =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor({ maxImageBytes: 100_000 })
        const closed = waitFor(origin, "close:/endless")
        const error = yield* failure(fetcher.fetchBytes(at(origin, "/endless"), { kind: "image" }))
        expect(error).toMatchObject({ _tag: "TooLarge", limit: 100_000 })
        expect(error._tag === "TooLarge" && error.received! > 100_000).toBe(true)
        yield* closed // the origin saw the connection end: the endless stream was cut off
      })
    )

    it.effect("applies the video limit to video downloads and removes the partial file", () =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor({ maxImageBytes: 10, maxVideoBytes: 1000 })
        const path = tmpPath("too-large.mp4")
        const error = yield* failure(fetcher.fetchToFile(at(origin, "/media/clip.mp4"), { kind: "video", path }))
        expect(error).toMatchObject({
          _tag: "TooLarge",
          kind: "video",
          limit: 1000,
          declared: media["clip.mp4"]!.length
        })
        expect(existsSync(path)).toBe(false)
        const endless = tmpPath("endless")
        const counted = yield* failure(fetcher.fetchToFile(at(origin, "/endless"), { kind: "image", path: endless }))
        expect(counted).toMatchObject({ _tag: "TooLarge", kind: "image", limit: 10 })
        expect(existsSync(endless)).toBe(false)
      })
    )

    it.effect("ends a stalled download at the total deadline and closes the connection", () =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor({ imageTimeoutMs: 30_000 })
        const sent = waitFor(origin, "sent:/slow")
        const closed = waitFor(origin, "close:/slow")
        const fiber = yield* Effect.fork(fetcher.fetchBytes(at(origin, "/slow"), { kind: "image" }))
        yield* sent
        yield* TestClock.adjust(Duration.millis(29_999))
        expect(fiber.unsafePoll()).toBeNull()
        yield* TestClock.adjust(Duration.millis(1))
        const error = yield* Fiber.join(fiber).pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "Timeout", phase: "total", timeoutMs: 30_000 })
        expect(error.message).toContain("30 s")
        yield* closed
      })
    )

    it.effect("ends a connection that does not come up at the connect timeout", () =>
      Effect.gen(function* () {
        let asked!: () => void
        const lookupCalled = new Promise<void>((resolve) => {
          asked = resolve
        })
        const fetcher = yield* MediaFetcher.make({
          connectTimeoutMs: 10_000,
          lookup: () => {
            asked()
            return new Promise(() => {}) // a resolver that never answers
          }
        })
        const fiber = yield* Effect.fork(fetcher.fetchBytes("http://stuck.example.com/a.jpg", { kind: "image" }))
        yield* Effect.promise(() => lookupCalled)
        yield* TestClock.adjust(Duration.seconds(10))
        const error = yield* Fiber.join(fiber).pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "Timeout", phase: "connect", timeoutMs: 10_000 })
      })
    )

    it.effect("removes the partial file and closes the connection when interrupted", () =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor()
        const path = tmpPath("interrupted.mp4")
        const sent = waitFor(origin, "sent:/slow")
        const closed = waitFor(origin, "close:/slow")
        const fiber = yield* Effect.fork(fetcher.fetchToFile(at(origin, "/slow"), { kind: "image", path }))
        yield* sent
        expect(existsSync(path)).toBe(true)
        yield* Fiber.interrupt(fiber)
        expect(existsSync(path)).toBe(false)
        yield* closed
      })
    )

    it.effect("never overwrites an existing file (a defect, not a media error)", () =>
      Effect.gen(function* () {
        const fetcher = yield* fetcherFor()
        const path = tmpPath("existing")
        yield* Effect.promise(() => writeFile(path, "keep me"))
        const exit = yield* Effect.exit(fetcher.fetchToFile(at(origin, "/media/clip.mp4"), { kind: "video", path }))
        expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
        expect(yield* Effect.promise(() => readFile(path, "utf8"))).toBe("keep me")
      })
    )
  })

  describe("options", () => {
    it.effect("checkUrl parses without network and returns the normalised URL", () =>
      Effect.gen(function* () {
        const fetcher = yield* strictFetcher
        const ok = fetcher.checkUrl("HTTPS://CDN.Example.COM:443/a b.jpg")
        expect(Either.isRight(ok) && ok.right.href).toBe("https://cdn.example.com/a%20b.jpg")
        const bad = fetcher.checkUrl("ftp://example.com/a.jpg")
        expect(Either.isLeft(bad) && bad.left).toMatchObject({ _tag: "InvalidUrl" })
      })
    )

    it.effect("validates options and reports every problem", () =>
      Effect.gen(function* () {
        const error = yield* failure(
          MediaFetcher.make({
            maxImageBytes: -1,
            maxRedirects: 1.5,
            allowedCidrs: ["10.0.0.0/8", "nope"],
            userAgent: ""
          })
        )
        expect(error._tag).toBe("InvalidOptions")
        expect(error.issues).toHaveLength(4)
        expect(MediaFetcher.resolveOptions()).toEqual(Either.right(MediaFetcher.defaults))
      })
    )

    it.effect("reads its options from the environment", () =>
      Effect.gen(function* () {
        const env = new Map([
          ["FACEDET_ALLOW_PRIVATE_URLS", "true"],
          ["FACEDET_ALLOWED_CIDRS", "10.0.0.0/8, 192.168.1.0/24"],
          ["FACEDET_MAX_IMAGE_BYTES", "1000"],
          ["FACEDET_FETCH_MAX_REDIRECTS", "2"]
        ])
        const fetcher = yield* MediaFetcher.MediaFetcher.pipe(
          Effect.provide(MediaFetcher.layerConfig),
          Effect.withConfigProvider(ConfigProvider.fromMap(env))
        )
        expect(fetcher.options).toMatchObject({
          allowPrivate: true,
          allowedCidrs: ["10.0.0.0/8", "192.168.1.0/24"],
          maxImageBytes: 1000,
          maxVideoBytes: MediaFetcher.defaults.maxVideoBytes,
          maxRedirects: 2
        })
        const defaults = yield* MediaFetcher.MediaFetcher.pipe(
          Effect.provide(MediaFetcher.layerConfig),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
        )
        expect(defaults.options).toEqual(MediaFetcher.defaults)
        const bad = yield* MediaFetcher.MediaFetcher.pipe(
          Effect.provide(MediaFetcher.layerConfig),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["FACEDET_ALLOWED_CIDRS", "10.0.0.0/99"]]))),
          Effect.flip
        )
        expect(ConfigError.isInvalidData(bad)).toBe(true)
        // The server reads only the transport variables here: its own configuration owns (and validates) the rest,
        // so a spelling it accepts (TRUE) is never refused by a second parser.
        const transport = yield* Effect.withConfigProvider(
          MediaFetcher.transportConfig,
          ConfigProvider.fromMap(
            new Map([
              ["FACEDET_ALLOW_PRIVATE_URLS", "TRUE"],
              ["FACEDET_MAX_IMAGE_BYTES", "1e6"],
              ["FACEDET_FETCH_IMAGE_TIMEOUT_MS", "2000"]
            ])
          )
        )
        expect(transport).toEqual({ imageTimeoutMs: 2000 })
      })
    )
  })
})
