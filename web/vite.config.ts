/// <reference types="vitest/config" />
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

// The API serves the built app at `/` with assets under /assets/, so the default base is right.
// `npm run dev` proxies the API to a local `t21 serve` (T21_API_URL, default http://127.0.0.1:8000).
const apiTarget = process.env.T21_API_URL ?? "http://127.0.0.1:8000";

/**
 * Precompressed copies of the hashed assets (name.js.br, name.js.gz beside name.js), written once at
 * build time: the API serves them to browsers that accept them (t21/web_assets.py), so nothing is
 * compressed per request. Maps are left alone: they are not served.
 */
function precompress(): Plugin {
  let outDir = "dist";
  return {
    name: "t21-precompress",
    apply: "build",
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      const assets = path.join(outDir, "assets");
      for (const name of readdirSync(assets)) {
        if (!/\.(js|css|svg|json|txt)$/.test(name)) continue;
        const file = path.join(assets, name);
        const body = readFileSync(file);
        writeFileSync(`${file}.gz`, gzipSync(body, { level: 9 }));
        writeFileSync(`${file}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }));
      }
    },
  };
}

export default defineConfig({
  plugins: [react(), precompress()],
  server: {
    proxy: {
      "/api": { target: apiTarget, ws: true, changeOrigin: true },
    },
  },
  build: {
    outDir: "dist",
    // Maps are written for whoever debugs a production build with the files at hand, but no file
    // points at them and the server does not serve them (t21/web_assets.py).
    sourcemap: "hidden",
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
    css: false,
    watch: false,
  },
});
