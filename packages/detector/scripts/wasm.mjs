/** WebAssembly text to bytes with wabt (a development dependency only). */
import wabt from "wabt"

export const assemble = async (text) => {
  const module = (await wabt()).parseWat("module.wat", text, { simd: true })
  try {
    module.validate()
    return module.toBinary({ log: false }).buffer
  } finally {
    module.destroy()
  }
}
