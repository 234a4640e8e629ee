import { readFileSync } from "node:fs"

/** Reads a documented crun.ai example body from test/fixtures/crun. */
export const crun = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./fixtures/crun/${name}.json`, import.meta.url), "utf8"))
