/**
 * Configuration: defaults, environment variables in their documented units, overrides winning, and every bad
 * value reported at once without echoing keys.
 */
import { availableParallelism } from "node:os"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ServerConfig from "../src/ServerConfig.js"

describe("ServerConfig", () => {
  it("has the documented defaults", () => {
    const config = Either.getOrThrow(ServerConfig.fromEnv({}))
    expect(config).toMatchObject({
      port: 8080,
      host: "127.0.0.1",
      publicUrl: undefined,
      apiKeys: [],
      allowPrivateUrls: false
    })
    expect(config.dataDir.endsWith(".facedet")).toBe(true)
    expect(config.mediaTtlMs).toBe(3_600_000)
    expect(config.taskRetentionMs).toBe(24 * 3_600_000)
    expect(config.workers).toBe(2 * availableParallelism())
    expect(config.heavyWorkers).toBe(availableParallelism())
    expect(config.crops).toBe("eager")
  })

  it("takes FACEDET_HEAVY_WORKERS as a whole number of at least 1", () => {
    expect(Either.getOrThrow(ServerConfig.fromEnv({ FACEDET_HEAVY_WORKERS: "3" })).heavyWorkers).toBe(3)
    const bad = ServerConfig.fromEnv({ FACEDET_HEAVY_WORKERS: "0" })
    expect(Either.isLeft(bad) && bad.left.message).toContain(
      'FACEDET_HEAVY_WORKERS: expected an integer 1..256, got "0"'
    )
  })

  it("takes FACEDET_CROPS as eager or lazy, in any case, and names anything else", () => {
    expect(Either.getOrThrow(ServerConfig.fromEnv({ FACEDET_CROPS: "Lazy" })).crops).toBe("lazy")
    const bad = ServerConfig.fromEnv({ FACEDET_CROPS: "later" })
    expect(Either.isLeft(bad) && bad.left.message).toContain('FACEDET_CROPS: expected eager or lazy, got "later"')
  })

  it("reads the environment in its units; overrides win", () => {
    const config = Either.getOrThrow(
      ServerConfig.fromEnv(
        {
          FACEDET_PORT: "9000",
          FACEDET_HOST: "0.0.0.0",
          FACEDET_PUBLIC_URL: "https://faces.example.com/",
          FACEDET_API_KEYS: " key-aaaaaaaaaaaaaaaa , key-bbbbbbbbbbbbbbbb ",
          FACEDET_ALLOW_PRIVATE_URLS: "true",
          FACEDET_SHUTDOWN_GRACE_SECONDS: "2.5",
          FACEDET_TASK_RETENTION_HOURS: "48",
          FACEDET_RATE_LIMIT_RPS: "0"
        },
        { port: 9001 }
      )
    )
    expect(config).toMatchObject({
      port: 9001,
      host: "0.0.0.0",
      publicUrl: "https://faces.example.com",
      apiKeys: ["key-aaaaaaaaaaaaaaaa", "key-bbbbbbbbbbbbbbbb"],
      allowPrivateUrls: true,
      shutdownGraceMs: 2500,
      taskRetentionMs: 48 * 3_600_000,
      rateLimitPerSecond: 0
    })
  })

  it("lists every bad value, naming its variable, and never echoes a key", () => {
    const result = ServerConfig.fromEnv({
      FACEDET_PORT: "80a",
      FACEDET_PUBLIC_URL: "ftp://x",
      FACEDET_API_KEYS: "short-secret",
      FACEDET_ALLOW_PRIVATE_URLS: "maybe",
      FACEDET_WORKERS: "0",
      FACEDET_QUEUE_SIZE: "1.5"
    })
    expect(Either.isLeft(result)).toBe(true)
    const error = Either.getLeft(result).pipe((o) => (o._tag === "Some" ? o.value : undefined))!
    expect(error.problems.map((p) => p.setting)).toEqual([
      "FACEDET_PORT",
      "FACEDET_PUBLIC_URL",
      "FACEDET_API_KEYS",
      "FACEDET_ALLOW_PRIVATE_URLS",
      "FACEDET_WORKERS",
      "FACEDET_QUEUE_SIZE"
    ])
    expect(error.message).toContain('FACEDET_PORT: expected an integer 0..65535, got "80a"')
    expect(error.message).not.toContain("short-secret")
  })

  it("takes an IPv6 host as written in a URL, and checks every allowed CIDR block", () => {
    const config = Either.getOrThrow(
      ServerConfig.fromEnv({ FACEDET_HOST: "[::1]", FACEDET_ALLOWED_CIDRS: "10.20.0.0/16, fd00::/8, 192.0.2.7" })
    )
    expect(config.host).toBe("::1")
    expect(config.allowedCidrs).toEqual(["10.20.0.0/16", "fd00::/8", "192.0.2.7"])
    const bad = ServerConfig.fromEnv({ FACEDET_HOST: "[::1", FACEDET_ALLOWED_CIDRS: "10.0.0.0/99,300.1.1.1" })
    const error = Either.getLeft(bad).pipe((o) => (o._tag === "Some" ? o.value : undefined))!
    expect(error.problems.map((p) => p.setting)).toEqual([
      "FACEDET_HOST",
      "FACEDET_ALLOWED_CIDRS",
      "FACEDET_ALLOWED_CIDRS"
    ])
  })

  it("names a bad override by its flag when given a label", () => {
    const result = ServerConfig.fromEnv(
      { FACEDET_PORT: "8080", FACEDET_WORKERS: "0" },
      { port: 70000 },
      { port: "--port" }
    )
    const error = Either.getLeft(result).pipe((o) => (o._tag === "Some" ? o.value : undefined))!
    expect(error.problems.map((p) => p.setting)).toEqual(["--port", "FACEDET_WORKERS"])
    expect(error.message).toContain("--port: expected an integer 0..65535, got 70000")
  })
  describe("read through Effect's Config", () => {
    const provider = (entries: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(entries)))

    it.effect("load takes every setting from the current ConfigProvider, lists intact", () =>
      Effect.gen(function* () {
        const config = yield* ServerConfig.load({ port: 9100 }).pipe(
          Effect.withConfigProvider(
            provider({
              FACEDET_PORT: "7000",
              FACEDET_API_KEYS: "key-one-0123456789abcdef, key-two-0123456789abcdef",
              FACEDET_WORKERS: "3",
              FACEDET_ALLOWED_CIDRS: "10.0.0.0/8,192.168.1.0/24"
            })
          )
        )
        // The override wins over the provider, as over the environment.
        expect(config.port).toBe(9100)
        expect(config.apiKeys).toEqual(["key-one-0123456789abcdef", "key-two-0123456789abcdef"])
        expect(config.workers).toBe(3)
        expect(config.allowedCidrs).toHaveLength(2)
        expect(config).toEqual(
          Either.getOrThrow(
            ServerConfig.fromEnv(
              {
                FACEDET_PORT: "7000",
                FACEDET_API_KEYS: "key-one-0123456789abcdef, key-two-0123456789abcdef",
                FACEDET_WORKERS: "3",
                FACEDET_ALLOWED_CIDRS: "10.0.0.0/8,192.168.1.0/24"
              },
              { port: 9100 }
            )
          )
        )
      })
    )

    it.effect("a bad value is the same ConfigInvalid, and through `config` an InvalidData naming it", () =>
      Effect.gen(function* () {
        const bad = provider({ FACEDET_WORKERS: "many", FACEDET_LEASE_SECONDS: "-1" })
        const error = yield* Effect.flip(ServerConfig.load().pipe(Effect.withConfigProvider(bad)))
        expect(error._tag).toBe("ConfigInvalid")
        expect(error._tag === "ConfigInvalid" && error.problems.map((p) => p.setting)).toEqual([
          "FACEDET_WORKERS",
          "FACEDET_LEASE_SECONDS"
        ])
        const viaConfig = yield* Effect.flip(Effect.withConfigProvider(ServerConfig.config(), bad))
        expect(ConfigError.isConfigError(viaConfig)).toBe(true)
        expect(String(viaConfig)).toContain('FACEDET_WORKERS: expected an integer 1..256, got "many"')
      })
    )
  })
})
