import sharp from "sharp"
import { readFileSync } from "node:fs"
const img = readFileSync("/work/main/apps/runtimes/test/group.jpg")
const { data, info } = await sharp(img).removeAlpha().raw().toBuffer({ resolveWithObject: true })
const W = info.width,
  H = info.height
console.log("raster", W, H, info.channels)
const regions = [
  [40, 60, 64, 64],
  [120, 50, 58, 58],
  [200, 70, 70, 70],
  [280, 40, 60, 60],
  [350, 80, 66, 66],
  [420, 60, 62, 62],
  [100, 200, 80, 80]
]
const cpu = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
const t = async (name, f, n = 30) => {
  for (let i = 0; i < 5; i++) await f()
  const c0 = cpu(),
    s = performance.now()
  for (let i = 0; i < n; i++) await f()
  console.log(
    name.padEnd(40),
    "wall/img",
    ((performance.now() - s) / n).toFixed(2),
    "cpu/img",
    ((cpu() - c0) / n).toFixed(2),
    "ms (7 crops)"
  )
}
const raw = { raw: { width: W, height: H, channels: 3 } }
const seq = async (mk) => {
  for (const r of regions) await mk(r)
}
await t("today: extract+resize lanczos+jpeg", () =>
  seq((r) =>
    sharp(data, raw)
      .extract({ left: r[0], top: r[1], width: r[2], height: r[3] })
      .resize(256, 256, { fit: "fill" })
      .jpeg({ quality: 88, mozjpeg: false })
      .toBuffer()
  )
)
await t("linear kernel", () =>
  seq((r) =>
    sharp(data, raw)
      .extract({ left: r[0], top: r[1], width: r[2], height: r[3] })
      .resize(256, 256, { fit: "fill", kernel: "linear" })
      .jpeg({ quality: 88 })
      .toBuffer()
  )
)
await t("linear + no optimiseCoding", () =>
  seq((r) =>
    sharp(data, raw)
      .extract({ left: r[0], top: r[1], width: r[2], height: r[3] })
      .resize(256, 256, { fit: "fill", kernel: "linear" })
      .jpeg({ quality: 88, optimiseCoding: false })
      .toBuffer()
  )
)
const small = Buffer.alloc(256 * 256 * 3)
for (let i = 0; i < small.length; i++) small[i] = data[i % data.length]
await t("encode only (raw 256)", () =>
  seq(() =>
    sharp(small, { raw: { width: 256, height: 256, channels: 3 } })
      .jpeg({ quality: 88 })
      .toBuffer()
  )
)
await t("encode only, no optimiseCoding", () =>
  seq(() =>
    sharp(small, { raw: { width: 256, height: 256, channels: 3 } })
      .jpeg({ quality: 88, optimiseCoding: false })
      .toBuffer()
  )
)
const strip = Buffer.alloc(256 * 256 * 3 * 7)
for (let i = 0; i < strip.length; i++) strip[i] = data[i % data.length]
await t("one strip 256x1792 encode", () =>
  sharp(strip, { raw: { width: 256, height: 1792, channels: 3 } })
    .jpeg({ quality: 88, optimiseCoding: false })
    .toBuffer()
)
await t("parallel today (all 7 at once)", () =>
  Promise.all(
    regions.map((r) =>
      sharp(data, raw)
        .extract({ left: r[0], top: r[1], width: r[2], height: r[3] })
        .resize(256, 256, { fit: "fill" })
        .jpeg({ quality: 88 })
        .toBuffer()
    )
  )
)
console.log("concurrency", sharp.concurrency())
