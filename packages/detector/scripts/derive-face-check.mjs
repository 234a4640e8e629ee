#!/usr/bin/env node
// Builds the face-check model the detector's second look runs (an ONNX file) from the TensorFlow.js graph model that
// @vladmandic/human ships as `facemesh`: MediaPipe's face mesh, whose "face flag" output says whether a 192x192
// window holds a face (MediaPipe uses it to tell when a tracked face is lost). Only the face-flag branch is kept: the
// mesh and contour heads are pruned, which drops a third of the graph. The graph is converted node for node
// (convolutions with their fused bias and PReLU, depthwise convolutions, adds, max pools, channel pads, sigmoid; each
// PReLU as two depthwise 1x1 convolutions and a Relu), from TensorFlow's NHWC to ONNX's NCHW; the weights stay the
// 16-bit floats human ships, widened by a Cast that onnxruntime folds once when the session is created.
//
// Input: uint8 [n, 192, 192, 3] RGB. Output: float32 [n, 1], the probability that the window holds a face.
// Usage: derive-face-check.mjs <facemesh.json> <facemesh.bin> <out.onnx>. Deterministic: same input, same bytes.
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { create, toBinary } from "@bufbuild/protobuf"
import {
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
  ValueInfoProtoSchema
} from "onnx-buf"
import { attr, rawFloats, rawInt64s, tensorType } from "./onnx-build.mjs"

/** The window side the model takes. */
export const windowSize = 192
/** The TensorFlow.js graph's output kept: the face flag. */
const flagOutput = "Identity_1"

const fail = (message) => {
  throw new Error(`derive-face-check: ${message}`)
}

/** The weights file's tensors by name: { shape, dataType, raw } (little-endian bytes as stored). */
const readWeights = (manifest, bin) => {
  const tensors = new Map()
  let offset = 0
  for (const group of manifest) {
    for (const w of group.weights) {
      const count = w.shape.reduce((a, b) => a * b, 1)
      const stored = w.quantization?.dtype ?? w.dtype
      const [dataType, width] =
        stored === "float16"
          ? [TensorProto_DataType.FLOAT16, 2]
          : stored === "int32"
            ? [TensorProto_DataType.INT32, 4]
            : stored === "float32"
              ? [TensorProto_DataType.FLOAT, 4]
              : fail(`${w.name} is stored as ${stored}`)
      tensors.set(w.name, { shape: w.shape, dataType, raw: bin.subarray(offset, offset + width * count) })
      offset += width * count
    }
  }
  if (offset !== bin.length) fail(`the manifest reads ${offset} bytes, the weights file has ${bin.length}`)
  return tensors
}

const text = (a) => Buffer.from(a?.s ?? "", "base64").toString("utf8")
const ints = (a) => (a?.list?.i ?? []).map(Number)

/** The model's bytes, from human's facemesh graph model (parsed model.json) and its weights file. */
export const derive = (modelJson, bin) => {
  const weights = readWeights(modelJson.weightsManifest, bin)
  const byName = new Map(modelJson.modelTopology.node.map((n) => [n.name, n]))
  const source = (input) => input.replace(/^\^/, "").split(":")[0]

  // The nodes the face flag needs, inputs first.
  const order = []
  const seen = new Set()
  const visit = (name) => {
    if (seen.has(name)) return
    seen.add(name)
    const n = byName.get(name) ?? fail(`no node ${name}`)
    for (const input of n.input ?? []) visit(source(input))
    order.push(n)
  }
  visit(flagOutput)

  const nodes = []
  const initializers = []
  const node = (opType, input, attribute, output) => {
    nodes.push(create(NodeProtoSchema, { opType, name: output, input, output: [output], attribute: attribute ?? [] }))
    return output
  }
  // PReLU as alpha * x + (1 - alpha) * relu(x), the two products as depthwise 1x1 convolutions. onnxruntime's PRelu
  // kernel broadcasts the per-channel alpha element by element (3.6 ms a window); element-wise Relu, Sub, Mul and Add
  // took 1.9 ms, most of it converting to and from the blocked layout its fast convolutions use; convolutions stay
  // in that layout and the Add joins the second one: 1.3 ms, same values (within 1e-6).
  const prelu = (x, alphaName, out) => {
    const c = channels(alphaName)
    const alpha = floatWeight(alphaName, [c, 1, 1, 1])
    const rest = node("Sub", ["one", alpha], [], `${out}/rest`)
    const scaled = (input, weights, name) =>
      node("Conv", [input, weights], [attr.ints("kernel_shape", [1, 1]), attr.int("group", c)], name)
    const linear = scaled(x, alpha, `${out}/linear`)
    const positive = scaled(node("Relu", [x], [], `${out}/positive`), rest, `${out}/rectified`)
    return node("Add", [linear, positive], [], out)
  }
  /** A float32 scalar constant named `name`. */
  const floatScalar = (name, value) => {
    initializers.push(
      create(TensorProtoSchema, {
        name,
        dataType: TensorProto_DataType.FLOAT,
        dims: [],
        rawData: rawFloats([value])
      })
    )
    return name
  }
  floatScalar("one", 1)
  const int64Const = (name, values) => {
    initializers.push(
      create(TensorProtoSchema, {
        name,
        dataType: TensorProto_DataType.INT64,
        dims: [BigInt(values.length)],
        rawData: rawInt64s(values)
      })
    )
    return name
  }
  /** A weight as a float tensor of `dims` (same element order), widened from 16 bits by a folded Cast. */
  const floatWeight = (name, dims) => {
    const w = weights.get(name) ?? fail(`no weight ${name}`)
    if (w.dataType === TensorProto_DataType.INT32) fail(`${name} is not a float weight`)
    const count = w.shape.reduce((a, b) => a * b, 1)
    if (dims.reduce((a, b) => a * b, 1) !== count) fail(`${name}: shape ${w.shape} is not ${dims}`)
    initializers.push(
      create(TensorProtoSchema, {
        name: `${name}/stored`,
        dataType: w.dataType,
        dims: dims.map(BigInt),
        rawData: w.raw
      })
    )
    return w.dataType === TensorProto_DataType.FLOAT
      ? `${name}/stored`
      : node("Cast", [`${name}/stored`], [attr.int("to", TensorProto_DataType.FLOAT)], `${name}/float`)
  }
  const int32Values = (name) => {
    const w = weights.get(name) ?? fail(`no weight ${name}`)
    if (w.dataType !== TensorProto_DataType.INT32) fail(`${name} is not an int32 constant`)
    return Array.from(new Int32Array(w.raw.slice().buffer))
  }
  /** TensorFlow HWIO (or depthwise HW C 1) filters as ONNX OIHW, by a folded Transpose. */
  const filters = (name, depthwise) => {
    const [h, w, i, o] = weights.get(name)?.shape ?? fail(`no weight ${name}`)
    const hwio = floatWeight(name, [h, w, i, o])
    return node("Transpose", [hwio], [attr.ints("perm", depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1])], `${name}/oihw`)
  }
  const channels = (name) => weights.get(name).shape.at(-1)
  const convAttributes = (n, kernel) => {
    if (text(n.attr.data_format) !== "NHWC") fail(`${n.name}: data format ${text(n.attr.data_format)}`)
    if (ints(n.attr.dilations).some((d) => d !== 1)) fail(`${n.name}: dilated`)
    const [, sh, sw] = ints(n.attr.strides)
    const padding = text(n.attr.padding)
    if (padding !== "SAME" && padding !== "VALID") fail(`${n.name}: padding ${padding}`)
    // TensorFlow's SAME puts the odd pixel at the end, as ONNX's SAME_UPPER does.
    return [
      attr.ints("kernel_shape", kernel),
      attr.ints("strides", [sh, sw]),
      attr.string("auto_pad", padding === "SAME" ? "SAME_UPPER" : "VALID")
    ]
  }

  const input = "window"
  const names = new Map()
  const value = (ref) => names.get(source(ref)) ?? fail(`${ref} is not computed`)
  for (const n of order) {
    const out = n.name
    const inputs = (n.input ?? []).filter((i) => !i.startsWith("^"))
    switch (n.op) {
      case "Const":
        break // read where used
      case "Placeholder": {
        // uint8 NHWC RGB -> [0, 1] floats, NCHW.
        const asFloat = node("Cast", [input], [attr.int("to", TensorProto_DataType.FLOAT)], "window/float")
        const scaled = node("Mul", [asFloat, floatScalar("inv_255", 1 / 255)], [], "window/scaled")
        names.set(out, node("Transpose", [scaled], [attr.ints("perm", [0, 3, 1, 2])], "window/nchw"))
        break
      }
      case "_FusedConv2D": {
        const fused = (n.attr.fused_ops?.list?.s ?? []).map((s) => Buffer.from(s, "base64").toString("utf8"))
        const [x, w, bias, alpha] = inputs
        if (fused[0] !== "BiasAdd") fail(`${out}: fused ${fused}`)
        const [kh, kw] = weights.get(source(w)).shape
        let y = node(
          "Conv",
          [value(x), filters(source(w), false), floatWeight(source(bias), [channels(source(bias))])],
          convAttributes(n, [kh, kw]),
          `${out}/conv`
        )
        if (fused[1] === "Prelu") y = prelu(y, source(alpha), `${out}/prelu`)
        else if (fused[1] === "Relu") y = node("Relu", [y], [], `${out}/relu`)
        else if (fused.length > 1) fail(`${out}: fused ${fused}`)
        names.set(out, y)
        break
      }
      case "DepthwiseConv2dNative": {
        const [x, w] = inputs
        const [kh, kw, c, multiplier] = weights.get(source(w)).shape
        if (multiplier !== 1) fail(`${out}: channel multiplier ${multiplier}`)
        names.set(
          out,
          node(
            "Conv",
            [value(x), filters(source(w), true)],
            [...convAttributes(n, [kh, kw]), attr.int("group", c)],
            `${out}/conv`
          )
        )
        break
      }
      case "AddV2":
        names.set(out, node("Add", inputs.map(value), [], out))
        break
      case "Prelu":
        names.set(out, prelu(value(inputs[0]), source(inputs[1]), out))
        break
      case "MaxPool": {
        const [, kh, kw] = ints(n.attr.ksize)
        names.set(out, node("MaxPool", [value(inputs[0])], convAttributes(n, [kh, kw]), out))
        break
      }
      case "Pad": {
        // TF paddings [[n0, n1], [h0, h1], [w0, w1], [c0, c1]] -> ONNX [n0, c0, h0, w0, n1, c1, h1, w1].
        const p = int32Values(source(inputs[1]))
        const pads = [p[0], p[6], p[2], p[4], p[1], p[7], p[3], p[5]]
        names.set(out, node("Pad", [value(inputs[0]), int64Const(`${out}/pads`, pads)], [], out))
        break
      }
      case "Sigmoid":
        names.set(out, node("Sigmoid", [value(inputs[0])], [], out))
        break
      case "Reshape":
        names.set(out, node("Reshape", [value(inputs[0]), int64Const(`${out}/shape`, [-1, 1])], [], out))
        break
      case "Identity":
        names.set(out, node("Identity", [value(inputs[0])], [], "face"))
        break
      default:
        fail(`unsupported op ${n.op} (${out})`)
    }
  }

  const graph = create(GraphProtoSchema, {
    name: "face_check",
    node: nodes,
    initializer: initializers,
    input: [
      create(ValueInfoProtoSchema, {
        name: input,
        type: tensorType(TensorProto_DataType.UINT8, ["n", windowSize, windowSize, 3])
      })
    ],
    output: [create(ValueInfoProtoSchema, { name: "face", type: tensorType(TensorProto_DataType.FLOAT, ["n", 1]) })]
  })
  const model = create(ModelProtoSchema, {
    irVersion: 7n,
    producerName: "@facedet/detector",
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: "", version: 13n })],
    graph,
    metadataProps: [
      create(StringStringEntryProtoSchema, {
        key: "facedet.derived",
        value:
          "MediaPipe face mesh's face-flag branch, from @vladmandic/human@3.3.6's models/facemesh, as ONNX by " +
          "@facedet/detector (scripts/derive-face-check.mjs); same function"
      })
    ]
  })
  return toBinary(ModelProtoSchema, model)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [json, bin, out] = process.argv.slice(2)
  if (json === undefined || bin === undefined || out === undefined) {
    console.error("usage: derive-face-check.mjs <facemesh.json> <facemesh.bin> <out.onnx>")
    process.exit(2)
  }
  writeFileSync(out, derive(JSON.parse(readFileSync(json, "utf8")), new Uint8Array(readFileSync(bin))))
}
