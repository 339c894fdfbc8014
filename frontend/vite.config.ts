import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const dist = fileURLToPath(new URL('./dist', import.meta.url));

// dist/ holds a committed .placeholder (the Go embed needs a file there
// before the first build), so Vite must not empty it; this removes only
// what a previous build wrote.
function cleanDist(): Plugin {
  return {
    name: 'tandem-clean-dist',
    apply: 'build',
    buildStart() {
      for (const p of ['assets', 'index.html', 'favicon.svg']) {
        rmSync(`${dist}/${p}`, { recursive: true, force: true });
      }
    },
  };
}

export default defineConfig({
  plugins: [cleanDist()],
  resolve: {
    // sharedb's client requires Node's `util` only for `inherits`.
    alias: { util: fileURLToPath(new URL('./src/shims/util.ts', import.meta.url)) },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    // `npm run dev` proxies the API, the WebSocket and its HTTP fallbacks to a local `tandem serve`.
    proxy: {
      '/ws': { target: 'ws://127.0.0.1:8080', ws: true },
      '/api': 'http://127.0.0.1:8080',
      '/sharedb': 'http://127.0.0.1:8080',
      '/healthz': 'http://127.0.0.1:8080',
    },
  },
});
