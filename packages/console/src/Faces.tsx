/**
 * The faces of a succeeded task: boxes and landmarks drawn over the media (`data-face-id`), and the crops as a grid
 * (`data-crop-id`); hovering or focusing either highlights both. For a video, each person's crop carries the span
 * they were seen in, and choosing it seeks the video there.
 */
import type { Face } from "@facedet/core/Face"
import { useRef, useState } from "preact/hooks"
import type { Kind } from "./api.js"

interface Props {
  readonly kind: Kind
  /** What to draw over; undefined when this page no longer holds the media (a reopened task). */
  readonly media: string | undefined
  readonly faces: ReadonlyArray<Face>
}

const ms = (value: unknown) => (typeof value === "number" ? `${(value / 1000).toFixed(1)} s` : "?")

export const Faces = ({ kind, media, faces }: Props) => {
  const [hot, setHot] = useState<number | undefined>()
  const [size, setSize] = useState<{ readonly w: number; readonly h: number } | undefined>()
  const video = useRef<HTMLVideoElement>(null)
  const hover = (id: number | undefined) => () => setHot(id)
  const pct = (v: number, total: number) => `${(v / total) * 100}%`

  return (
    <div class="faces">
      {media !== undefined ? (
        <div class="stage">
          {kind === "video" ? (
            <video
              ref={video}
              src={media}
              controls
              muted
              preload="metadata"
              onLoadedMetadata={(e) => {
                const v = e.target as HTMLVideoElement
                setSize({ w: v.videoWidth, h: v.videoHeight })
              }}
            />
          ) : (
            <img
              src={media}
              alt="The detected media"
              onLoad={(e) => {
                const img = e.target as HTMLImageElement
                setSize({ w: img.naturalWidth, h: img.naturalHeight })
              }}
            />
          )}
          {size &&
            faces.map((f) =>
              f.box ? (
                // biome-ignore lint/a11y/noStaticElementInteractions: hover mirrors the crop buttons below, which carry the keyboard interaction
                <div
                  key={f.id}
                  class={`box${hot === f.id ? " hot" : ""}`}
                  data-face-id={f.id}
                  style={{
                    left: pct(f.box[0], size.w),
                    top: pct(f.box[1], size.h),
                    width: pct(f.box[2], size.w),
                    height: pct(f.box[3], size.h)
                  }}
                  onMouseEnter={hover(f.id)}
                  onMouseLeave={hover(undefined)}
                  title={`face ${f.id}${typeof f.score === "number" ? `, score ${f.score.toFixed(2)}` : ""}`}
                >
                  <span class="label">{f.id}</span>
                  {f.landmarks &&
                    Object.entries(f.landmarks).map(([name, [x, y]]) => (
                      <i
                        key={name}
                        class="landmark"
                        title={name}
                        style={{ left: pct(x - f.box![0], f.box![2]), top: pct(y - f.box![1], f.box![3]) }}
                      />
                    ))}
                </div>
              ) : null
            )}
        </div>
      ) : (
        <p class="hint">
          The media is not in this page any more (reloaded), so the boxes are not drawn; the crops are.
        </p>
      )}
      <p class="count">
        {faces.length}{" "}
        {kind === "video" ? (faces.length === 1 ? "person" : "people") : faces.length === 1 ? "face" : "faces"}
      </p>
      <ul class="crops">
        {faces.map((f) => (
          <li key={f.id}>
            <button
              type="button"
              class={`crop${hot === f.id ? " hot" : ""}`}
              data-crop-id={f.id}
              onMouseEnter={hover(f.id)}
              onMouseLeave={hover(undefined)}
              onFocus={hover(f.id)}
              onBlur={hover(undefined)}
              onClick={() => {
                if (video.current && typeof f.first_seen_ms === "number")
                  video.current.currentTime = f.first_seen_ms / 1000
              }}
            >
              <img src={f.link} alt={`face ${f.id}`} loading="lazy" width={96} height={96} />
              <span>
                #{f.id}
                {kind === "video" && (
                  <>
                    {" "}
                    {ms(f.first_seen_ms)}–{ms(f.last_seen_ms)}
                  </>
                )}
              </span>
            </button>
          </li>
        ))}
      </ul>
    </div>
  )
}
