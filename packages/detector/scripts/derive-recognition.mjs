#!/usr/bin/env node
// Builds the face-recognition model the detector runs (an ONNX file) from the TensorFlow.js weights that
// @vladmandic/face-api ships: its FaceRecognitionNet, dlib's ResNet-29 descriptor (150x150 RGB in, 128 numbers out,
// same person when the Euclidean distance is small). The graph below is FaceRecognitionNet.forwardInput op for op
// (face-api's src/faceRecognitionNet: conv + bias + scale + relu, residual and down-sampling residual blocks, a mean
// and a fully connected layer); the weights stay the 8-bit values face-api ships, turned into floats by the graph
// itself (onnxruntime folds those constants once, when the session is created), so the file stays 6 MB.
//
// Input: uint8 [n, 150, 150, 3] RGB. Output: float32 [n, 128].
// Usage: derive-recognition.mjs <manifest.json> <weights.bin> <out.onnx>. Deterministic: same input, same bytes.
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

/** The chip size the network was trained on, and the mean RGB it subtracts (FaceRecognitionNet.forwardInput). */
export const chipSize = 150
const meanRgb = [122.782, 117.001, 104.298]

const fail = (message) => {
  throw new Error(`derive-recognition: ${message}`)
}

/**
 * The manifest's tensors, read from the weights file in manifest order: { shape, q, scale, min } for the 8-bit ones
 * (value = q * scale + min), { shape, raw } (little-endian float32 bytes) for the few that are stored as floats.
 */
const readWeights = (manifest, bin) => {
  const tensors = new Map()
  let offset = 0
  for (const group of manifest) {
    for (const w of group.weights) {
      const count = w.shape.reduce((a, b) => a * b, 1)
      if (w.quantization === undefined) {
        if (w.dtype !== "float32") fail(`${w.name} is ${w.dtype}`)
        tensors.set(w.name, { shape: w.shape, raw: bin.subarray(offset, offset + 4 * count) })
        offset += 4 * count
      } else {
        if (w.quantization.dtype !== "uint8") fail(`${w.name} is quantised as ${w.quantization.dtype}`)
        tensors.set(w.name, {
          shape: w.shape,
          q: bin.subarray(offset, offset + count),
          scale: w.quantization.scale,
          min: w.quantization.min
        })
        offset += count
      }
    }
  }
  if (offset !== bin.length) fail(`the manifest reads ${offset} bytes, the weights file has ${bin.length}`)
  return tensors
}

/**
 * The model's bytes, from face-api's weights manifest (parsed JSON) and weights file. `mode`:
 * - `{ kind: "float" }` (default): the graph as face-api computes it, weights dequantised by the graph itself.
 * - `{ kind: "calibrate" }`: the same function with every convolution's weights folded here (bias and scale layers
 *   included), and each activation that the 8-bit model quantises also a graph output named by its key (`activations`
 *   lists them); `scripts/calibrate-recognition.mjs` runs it on face chips to measure their ranges.
 * - `{ kind: "int8", ranges }`: the 8-bit model: the folded weights as signed 7-bit per output channel, each activation
 *   quantised to 8 bits over its measured range (`ranges[key] = [min, max]`) with QuantizeLinear / DequantizeLinear
 *   pairs, which onnxruntime turns into 8-bit convolutions and additions (QLinearConv, QLinearAdd) when the session is
 *   created. The final mean and fully connected layer stay float.
 */
export const derive = (manifest, bin, mode = { kind: "float" }) => {
  const weights = readWeights(manifest, bin)
  const folded = mode.kind !== "float"
  const activations = []
  const nodes = []
  const initializers = []
  let counter = 0
  const fresh = (hint) => `${hint}_${counter++}`
  const node = (opType, input, attribute = [], output = fresh(opType.toLowerCase())) => {
    nodes.push(create(NodeProtoSchema, { opType, name: output, input, output: [output], attribute }))
    return output
  }
  const floatConst = (name, dims, values) => {
    initializers.push(
      create(TensorProtoSchema, {
        name,
        dataType: TensorProto_DataType.FLOAT,
        dims: dims.map(BigInt),
        rawData: rawFloats(values)
      })
    )
    return name
  }
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
  /** A weight as the graph's float: Cast(uint8) * scale + min, optionally transposed (constant-folded by ORT). */
  const weight = (name, perm) => {
    const w = weights.get(name) ?? fail(`no weight ${name}`)
    const value = w.raw === undefined ? dequantised(name, w) : stored(name, w)
    return perm === undefined ? value : node("Transpose", [value], [attr.ints("perm", perm)], `${name}/oihw`)
  }
  const stored = (name, w) => {
    initializers.push(
      create(TensorProtoSchema, {
        name: `${name}/q`,
        dataType: TensorProto_DataType.FLOAT,
        dims: w.shape.map(BigInt),
        rawData: Uint8Array.from(w.raw)
      })
    )
    return `${name}/q`
  }
  const dequantised = (name, w) => {
    initializers.push(
      create(TensorProtoSchema, {
        name: `${name}/q`,
        dataType: TensorProto_DataType.UINT8,
        dims: w.shape.map(BigInt),
        rawData: Uint8Array.from(w.q)
      })
    )
    const asFloat = node("Cast", [`${name}/q`], [attr.int("to", TensorProto_DataType.FLOAT)], `${name}/float`)
    const scaled = node("Mul", [asFloat, floatConst(`${name}/scale`, [], [w.scale])], [], `${name}/scaled`)
    return node("Add", [scaled, floatConst(`${name}/min`, [], [w.min])], [], `${name}/value`)
  }

  /** The weights read by `valuesOf` (folded into the graph's constants rather than fed to it). */
  const used = new Set()
  /** A weight's float32 values, as the float graph computes them. */
  const valuesOf = (name) => {
    const w = weights.get(name) ?? fail(`no weight ${name}`)
    used.add(name)
    if (w.raw !== undefined) return new Float32Array(Uint8Array.from(w.raw).buffer)
    const scale = Math.fround(w.scale)
    const min = Math.fround(w.min)
    return Float32Array.from(w.q, (q) => Math.fround(Math.fround(q * scale) + min))
  }

  // 8-bit activations: the scale and zero point of each quantised activation, by the DequantizeLinear output that
  // carries it (what the next convolution, pooling or padding reads).
  const quantParams = new Map()
  const uint8Params = (key) => {
    const range = mode.ranges?.[key] ?? fail(`no calibrated range for ${key}`)
    const lo = Math.min(range[0], 0)
    const hi = Math.max(range[1], 0)
    const scale = Math.fround(Math.max((hi - lo) / 255, 1e-8))
    return { scale, zero: Math.max(0, Math.min(255, Math.round(-lo / scale))) }
  }
  const quantDequant = (x, key, params) => {
    const s = floatConst(`${key}/q_scale`, [], [params.scale])
    initializers.push(
      create(TensorProtoSchema, {
        name: `${key}/q_zero`,
        dataType: TensorProto_DataType.UINT8,
        dims: [],
        rawData: Uint8Array.of(params.zero)
      })
    )
    const q = node("QuantizeLinear", [x, s, `${key}/q_zero`], [], `${key}/q`)
    const dq = node("DequantizeLinear", [q, s, `${key}/q_zero`], [], `${key}/dq`)
    quantParams.set(dq, params)
    return dq
  }
  /** An activation the 8-bit model quantises: measured (calibrate) or quantised (int8) under `key`. */
  const point = (x, key) => {
    if (mode.kind === "calibrate") {
      activations.push({ key, tensor: x })
      return x
    }
    return mode.kind === "int8" ? quantDequant(x, key, uint8Params(key)) : x
  }
  /** The output of an op that keeps its input's range (pooling, padding with zeros): quantised like its input. */
  const follow = (x, input, key) =>
    mode.kind === "int8" ? quantDequant(x, key, quantParams.get(input) ?? fail(`${key}: input not quantised`)) : x

  /** convLayer: conv (TF filters HWIO -> ONNX OIHW), + bias, * scale weights + scale biases, relu if asked. */
  const conv = (x, prefix, { kernel, stride, pad, relu }) => {
    const k = weights.get(`${prefix}/conv/filters`).shape[0]
    if (k !== kernel) fail(`${prefix}: kernel ${k}, expected ${kernel}`)
    const attributes = [
      attr.ints("kernel_shape", [kernel, kernel]),
      attr.ints("strides", [stride, stride]),
      attr.ints("pads", [pad, pad, pad, pad])
    ]
    if (folded) {
      const out = node("Conv", [x, ...foldedWeights(x, prefix)], attributes)
      return relu ? point(node("Relu", [out]), `${prefix}/relu`) : point(out, `${prefix}/out`)
    }
    const filters = weight(`${prefix}/conv/filters`, [3, 2, 0, 1])
    let out = node("Conv", [x, filters], attributes)
    const perChannel = (name) => node("Reshape", [weight(name), int64Const(fresh("shape"), [1, -1, 1, 1])])
    out = node("Add", [out, perChannel(`${prefix}/conv/bias`)])
    out = node("Mul", [out, perChannel(`${prefix}/scale/weights`)])
    out = node("Add", [out, perChannel(`${prefix}/scale/biases`)])
    return relu ? node("Relu", [out]) : out
  }

  /**
   * A convolution's weights and bias with its scale layer folded in (w * sw, (b * sw) + sb, in OIHW), as float
   * initializers (calibrate) or as 7-bit weights, symmetric per output channel, and a 32-bit bias at the input's scale
   * times the weights' (int8), each behind a DequantizeLinear.
   */
  const foldedWeights = (x, prefix) => {
    const [kh, kw, ci, co] = weights.get(`${prefix}/conv/filters`).shape
    const hwio = valuesOf(`${prefix}/conv/filters`)
    const bias = valuesOf(`${prefix}/conv/bias`)
    const sw = valuesOf(`${prefix}/scale/weights`)
    const sb = valuesOf(`${prefix}/scale/biases`)
    const perOut = ci * kh * kw
    const w = new Float32Array(co * perOut)
    const b = new Float32Array(co)
    for (let o = 0; o < co; o++) {
      b[o] = Math.fround(Math.fround(bias[o] * sw[o]) + sb[o])
      for (let i = 0; i < ci; i++)
        for (let h = 0; h < kh; h++)
          for (let v = 0; v < kw; v++)
            w[((o * ci + i) * kh + h) * kw + v] = hwio[((h * kw + v) * ci + i) * co + o] * sw[o]
    }
    const dims = [co, ci, kh, kw]
    if (mode.kind !== "int8") return [floatConst(`${prefix}/w`, dims, w), floatConst(`${prefix}/b`, [co], b)]
    const input = quantParams.get(x) ?? fail(`${prefix}: input not quantised`)
    const wq = new Int8Array(w.length)
    const ws = new Float32Array(co)
    const bq = new Int32Array(co)
    const bs = new Float32Array(co)
    for (let o = 0; o < co; o++) {
      let max = 0
      for (let j = 0; j < perOut; j++) max = Math.max(max, Math.abs(w[o * perOut + j]))
      // 7 bits ([-63, 63]): x86 CPUs without VNNI multiply 8-bit activations by 8-bit weights in pairs summed into 16
      // bits (VPMADDUBSW), which saturates at 255 * 127 * 2; 255 * 63 * 2 never does (onnxruntime's `reduce_range`).
      ws[o] = Math.fround(Math.max(max / 63, 1e-12))
      for (let j = 0; j < perOut; j++) wq[o * perOut + j] = Math.round(w[o * perOut + j] / ws[o])
      bs[o] = Math.fround(input.scale * ws[o])
      bq[o] = Math.round(b[o] / bs[o])
      if (Math.abs(b[o] / bs[o]) >= 2 ** 31) fail(`${prefix}: channel ${o}'s bias does not fit 32 bits at its scale`)
    }
    const dequant = (name, dataType, values, scales) => {
      initializers.push(
        create(TensorProtoSchema, {
          name: `${name}/q`,
          dataType,
          dims: (name.endsWith("/w") ? dims : [co]).map(BigInt),
          rawData: new Uint8Array(values.buffer)
        }),
        create(TensorProtoSchema, {
          name: `${name}/zero`,
          dataType,
          dims: [BigInt(co)],
          rawData: new Uint8Array(co * values.BYTES_PER_ELEMENT)
        })
      )
      const s = floatConst(`${name}/scale`, [co], scales)
      return node("DequantizeLinear", [`${name}/q`, s, `${name}/zero`], [attr.int("axis", 0)], `${name}/dq`)
    }
    return [
      dequant(`${prefix}/w`, TensorProto_DataType.INT8, wq, ws),
      dequant(`${prefix}/b`, TensorProto_DataType.INT32, bq, bs)
    ]
  }
  const same = { kernel: 3, stride: 1, pad: 1 }
  const residual = (x, prefix) => {
    let out = conv(x, `${prefix}/conv1`, { ...same, relu: true })
    out = conv(out, `${prefix}/conv2`, { ...same, relu: false })
    return point(node("Relu", [node("Add", [out, x])]), `${prefix}/relu`)
  }
  /** residualDown: a stride-2 valid conv beside a 2x2 average pool; the shorter side zero-padded at the end. */
  const residualDown = (x, prefix, { size, channels }) => {
    let out = conv(x, `${prefix}/conv1`, { kernel: 3, stride: 2, pad: 0, relu: true })
    out = conv(out, `${prefix}/conv2`, { ...same, relu: false })
    const convSize = Math.floor((size - 3) / 2) + 1
    const poolSize = Math.floor(size / 2)
    if (convSize !== poolSize) {
      if (convSize + 1 !== poolSize) fail(`${prefix}: sizes ${convSize} and ${poolSize}`)
      const padded = node("Pad", [out, int64Const(fresh("pads"), [0, 0, 0, 0, 0, 0, 1, 1])])
      out = follow(padded, out, `${prefix}/out_pad`)
    }
    let pooled = follow(
      node("AveragePool", [x], [attr.ints("kernel_shape", [2, 2]), attr.ints("strides", [2, 2])]),
      x,
      `${prefix}/pool`
    )
    const outChannels = weights.get(`${prefix}/conv1/conv/filters`).shape[3]
    if (outChannels !== channels) {
      const padded = node("Pad", [pooled, int64Const(fresh("pads"), [0, 0, 0, 0, 0, outChannels - channels, 0, 0])])
      pooled = follow(padded, pooled, `${prefix}/pool_pad`)
    }
    return {
      out: point(node("Relu", [node("Add", [pooled, out])]), `${prefix}/relu`),
      size: poolSize,
      channels: outChannels
    }
  }

  // uint8 NHWC -> (x - mean) / 255, NCHW. Transposed first: onnxruntime subtracts a per-channel mean over NCHW's
  // long rows quickly, over NHWC's runs of three values slowly (a tenth of the model's time); same values.
  const input = "image"
  let x = node("Transpose", [input], [attr.ints("perm", [0, 3, 1, 2])])
  x = node("Cast", [x], [attr.int("to", TensorProto_DataType.FLOAT)])
  x = node("Sub", [x, floatConst("mean_rgb", [1, 3, 1, 1], meanRgb)])
  x = point(node("Mul", [x, floatConst("inv_255", [], [1 / 255])]), "input")

  x = conv(x, "conv32_down", { kernel: 7, stride: 2, pad: 0, relu: true })
  x = follow(node("MaxPool", [x], [attr.ints("kernel_shape", [3, 3]), attr.ints("strides", [2, 2])]), x, "maxpool")
  let shape = { size: Math.floor((Math.floor((chipSize - 7) / 2) + 1 - 3) / 2) + 1, channels: 32 }
  const stage = (down, blocks) => {
    if (down !== undefined) {
      const next = residualDown(x, down, shape)
      x = next.out
      shape = { size: next.size, channels: next.channels }
    }
    for (const block of blocks) x = residual(x, block)
  }
  stage(undefined, ["conv32_1", "conv32_2", "conv32_3"])
  stage("conv64_down", ["conv64_1", "conv64_2", "conv64_3"])
  stage("conv128_down", ["conv128_1", "conv128_2"])
  stage("conv256_down", ["conv256_1", "conv256_2"])
  stage("conv256_down_out", [])
  const mean = node("ReduceMean", [x], [attr.ints("axes", [2, 3]), attr.int("keepdims", 0)])
  node("MatMul", [mean, weight("fc")], [], "embedding")

  const inputs = new Set(nodes.flatMap((n) => n.input))
  for (const name of weights.keys()) if (!inputs.has(`${name}/q`) && !used.has(name)) fail(`weight ${name} is not used`)

  const graph = create(GraphProtoSchema, {
    name: "face_recognition",
    node: nodes,
    initializer: initializers,
    input: [
      create(ValueInfoProtoSchema, {
        name: input,
        type: tensorType(TensorProto_DataType.UINT8, ["n", chipSize, chipSize, 3])
      })
    ],
    output: [
      create(ValueInfoProtoSchema, { name: "embedding", type: tensorType(TensorProto_DataType.FLOAT, ["n", 128]) }),
      ...activations.map((a) => create(ValueInfoProtoSchema, { name: a.tensor }))
    ]
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
          "FaceRecognitionNet (dlib ResNet-29 face descriptor, 128-d) from @vladmandic/face-api@1.7.15's " +
          "face_recognition_model, as ONNX by @facedet/detector (scripts/derive-recognition.mjs); " +
          (mode.kind === "int8"
            ? "7-bit weights and 8-bit activations (static quantisation, calibrated on face chips)"
            : "same function")
      })
    ]
  })
  const bytes = toBinary(ModelProtoSchema, model)
  return mode.kind === "calibrate" ? { bytes, activations } : bytes
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [manifest, bin, out] = process.argv.slice(2)
  if (manifest === undefined || bin === undefined || out === undefined) {
    console.error("usage: derive-recognition.mjs <manifest.json> <weights.bin> <out.onnx>")
    process.exit(2)
  }
  writeFileSync(out, derive(JSON.parse(readFileSync(manifest, "utf8")), new Uint8Array(readFileSync(bin))))
}
