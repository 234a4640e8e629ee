// Little-endian tensor bytes (ONNX raw_data), shared by the model scripts.

/** float32 values as raw_data. */
export const rawFloats = (values) => {
  const bytes = new Uint8Array(values.length * 4)
  const view = new DataView(bytes.buffer)
  for (const [i, v] of values.entries()) view.setFloat32(4 * i, v, true)
  return bytes
}

/** int64 values (numbers) as raw_data. */
export const rawInt64s = (values) => {
  const bytes = new Uint8Array(values.length * 8)
  const view = new DataView(bytes.buffer)
  for (const [i, v] of values.entries()) view.setBigInt64(8 * i, BigInt(v), true)
  return bytes
}
