/**
 * The data directory's layout: `jobs.sqlite` (the store), `api-keys.json` (the generated key's digest),
 * `crops/<task id>/<face id>.jpg`, `sources/<task id>` (an image
 * task's bytes, kept until its crops are written), `uploads/<token>`, and `tmp/` for video downloads (emptied at start: whatever is
 * there belonged to a task the previous process did not finish, which will download again).
 */
import { mkdirSync, rmSync } from "node:fs"
import { join } from "node:path"

export interface Layout {
  readonly root: string
  readonly crops: string
  readonly uploads: string
  readonly sources: string
  readonly tmp: string
}

export const layout = (root: string): Layout => ({
  root,
  crops: join(root, "crops"),
  uploads: join(root, "uploads"),
  sources: join(root, "sources"),
  tmp: join(root, "tmp")
})

/** Creates the directories (mode 0700) and empties `tmp/`. */
export const prepare = (l: Layout): void => {
  for (const dir of [l.root, l.crops, l.uploads, l.sources]) mkdirSync(dir, { recursive: true, mode: 0o700 })
  rmSync(l.tmp, { recursive: true, force: true })
  mkdirSync(l.tmp, { recursive: true, mode: 0o700 })
}
