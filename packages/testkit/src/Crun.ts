/**
 * crun.ai's documented example bodies (from its API documentation, kept in `fixtures/crun/`): the one copy that
 * core's schema tests, the client's tests and the CLI's tests read.
 */
import { readFileSync } from "node:fs"

export const names = [
  "create-ok",
  "result-processing",
  "result-succeeded",
  "result-failed",
  "swap-create-ok",
  "swap-multi-request",
  "taskinfo-running"
] as const

export type Name = (typeof names)[number]

/** A documented body, parsed (a fresh copy each call: tests may change it). */
export const body = (name: Name): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/crun/${name}.json`, import.meta.url), "utf8"))

/** The file of a documented body (for commands that read a file). */
export const path = (name: Name): string => new URL(`../fixtures/crun/${name}.json`, import.meta.url).pathname
