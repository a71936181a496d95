// The console: a Vite + React app in console/, built to dist/ for the BFF to serve at `/`.
// In development (`npm run dev -w web-client`), /trpc is proxied to a BFF on 127.0.0.1:8080. The
// dev server's pages are another origin than the BFF's, which refuses them unless told: run it
// with `--allowed-origins http://localhost:5173` (e.g. `just demo --allowed-origins
// http://localhost:5173`).
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./console', import.meta.url)),
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
  },
  server: {
    proxy: { '/trpc': { target: 'http://127.0.0.1:8080', ws: true } },
  },
});
