/**
 * SSD anchors for BlazeFace, computed the way MediaPipe's SsdAnchorsCalculator does for a fixed anchor size and a
 * single aspect ratio: every output cell of every feature map carries anchors at the cell's centre, and layers that
 * share a stride share one feature map. Cells run row by row, as the model's heads emit them, for square or
 * rectangular inputs.
 */

/**
 * How the model's feature maps are laid out.
 *
 * @since 0.1.0
 */
export interface AnchorSpec {
  /** Square input size in pixels (the size the model was trained at). */
  readonly inputSize: number
  /** Input width and height when they differ from `inputSize` (the model is fully convolutional up to its heads). */
  readonly width?: number
  readonly height?: number
  /** One stride per SSD layer; consecutive layers with the same stride share a feature map. */
  readonly strides: ReadonlyArray<number>
  /** Anchors each layer adds per cell (MediaPipe: one per aspect ratio plus one interpolated scale). */
  readonly anchorsPerLayer: number
  /** Offset of the anchor centre inside its cell, as a fraction of the cell. */
  readonly offset: number
}

/**
 * MediaPipe's full-range ("back camera") BlazeFace: 256x256 input, strides 16 then 32 three times, 896 anchors.
 *
 * @since 0.1.0
 */
export const blazeFaceBack: AnchorSpec = { inputSize: 256, strides: [16, 32, 32, 32], anchorsPerLayer: 2, offset: 0.5 }

/**
 * Anchor centres in input pixels, flattened `[x0, y0, x1, y1, ...]`, in the model's output order.
 *
 * @since 0.1.0
 */
export const generate = (spec: AnchorSpec): Float32Array => {
  const centres: Array<number> = []
  let layer = 0
  while (layer < spec.strides.length) {
    const stride = spec.strides[layer]!
    let sharing = 0
    while (layer + sharing < spec.strides.length && spec.strides[layer + sharing] === stride) sharing++
    const columns = Math.ceil((spec.width ?? spec.inputSize) / stride)
    const rows = Math.ceil((spec.height ?? spec.inputSize) / stride)
    const perCell = sharing * spec.anchorsPerLayer
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < columns; x++) {
        for (let a = 0; a < perCell; a++) centres.push((x + spec.offset) * stride, (y + spec.offset) * stride)
      }
    }
    layer += sharing
  }
  return Float32Array.from(centres)
}

/**
 * The same anchor layout for an input of `width` x `height` pixels.
 *
 * @since 0.1.0
 */
export const resized = (spec: AnchorSpec, width: number, height: number): AnchorSpec => ({ ...spec, width, height })

/**
 * Number of anchors a spec produces.
 *
 * @since 0.1.0
 */
export const count = (spec: AnchorSpec): number => generate(spec).length / 2
