/** WebAssembly text to bytes with wabt (a development dependency only). */
export declare const assemble: (text: string) => Promise<Uint8Array>
