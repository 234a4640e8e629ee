/**
 * The one-line description of an unexpected failure (a defect). Kept apart from `Render` so the command line module
 * can print one without loading what `Render` needs (core's error taxonomy, and zod through it): `--help` and
 * `--version` start faster.
 */
export const describeDefect = (u: unknown): string =>
  u instanceof Error ? `${u.name}: ${u.message}` : typeof u === "string" ? u : (JSON.stringify(u) ?? String(u))
