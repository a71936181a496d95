// The console: a Vite + React app, built to dist/ for the BFF to serve at `/`. In development
// (`npm run dev -w web-client/console`), /trpc is proxied to a BFF on 127.0.0.1:8080. The dev
// server's pages are another origin than the BFF's, which refuses them unless told: run it with
// `--allowed-origins http://localhost:5173` (e.g. `just demo --allowed-origins
// http://localhost:5173`). It imports @tidings/web-client by name, as built (its dist/):
// `npm run build -w web-client` after changing the library.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
  },
  server: {
    proxy: { '/trpc': { target: 'http://127.0.0.1:8080', ws: true } },
  },
});
