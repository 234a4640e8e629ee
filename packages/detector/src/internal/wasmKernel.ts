/**
 * This package's small WebAssembly modules (`resample.wat`, `jpegWalk.wat`): compiled on first use (synchronously:
 * each is under a kilobyte), with one instance kept between calls. WebAssembly memory never shrinks, so the kept
 * instance grows to at most `keptBytes`; a call that needs more gets an instance of its own, collected after it.
 */

/** The part of the WebAssembly API used here (this package's TypeScript libraries do not declare it). */
interface Wasm {
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object) => { readonly exports: object }
}
const wasm = (globalThis as unknown as { readonly WebAssembly: Wasm }).WebAssembly

/** A module's exported memory. */
export interface Memory {
  readonly buffer: ArrayBuffer
  readonly grow: (pages: number) => number
}

/**
 * For the module in `base64` (with exports `E`), a function that gives an instance whose memory holds at least
 * `bytes`: the kept one up to `keptBytes`, else a fresh one.
 */
export const kernels = <E extends { readonly memory: Memory }>(
  base64: string,
  keptBytes: number
): ((bytes: number) => E) => {
  let compiled: object | undefined
  let shared: E | undefined
  const instantiate = (): E => {
    compiled ??= new wasm.Module(Buffer.from(base64, "base64"))
    return new wasm.Instance(compiled).exports as E
  }
  return (bytes) => {
    let k: E
    if (bytes > keptBytes) k = instantiate()
    else {
      shared ??= instantiate()
      k = shared
    }
    const missing = bytes - k.memory.buffer.byteLength
    if (missing > 0) k.memory.grow(Math.ceil(missing / 65536))
    return k
  }
}
