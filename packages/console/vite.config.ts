import { defineConfig } from "vite"

// One page, no framework plugin: esbuild compiles the TSX for Preact. Hashed assets under assets/ are served
// immutable by the server; index.html is not hashed and is served no-cache.
export default defineConfig({
  base: "/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    // The server's CSP forbids inline scripts and styles: never inline assets into the HTML.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2022"
  }
})
