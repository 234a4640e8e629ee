// Pieces of ONNX graphs shared by the model scripts: little-endian tensor bytes (raw_data), node attributes and
// tensor types.
import { create } from "@bufbuild/protobuf"
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema
} from "onnx-buf"

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

/** Node attributes by kind. */
export const attr = {
  int: (name, i) => create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(i) }),
  ints: (name, values) =>
    create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: values.map(BigInt) }),
  string: (name, s) =>
    create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode(s) })
}

/** A tensor type of `elemType`; a string dimension is symbolic (any size). */
export const tensorType = (elemType, dims) =>
  create(TypeProtoSchema, {
    value: {
      case: "tensorType",
      value: create(TypeProto_TensorSchema, {
        elemType,
        shape: create(TensorShapeProtoSchema, {
          dim: dims.map((d) =>
            create(TensorShapeProto_DimensionSchema, {
              value: typeof d === "string" ? { case: "dimParam", value: d } : { case: "dimValue", value: BigInt(d) }
            })
          )
        })
      })
    }
  })
