import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `vite build` writes the static files the control plane serves (dist/).
// `vite` (dev) proxies the API to a control plane on localhost:3000.
const api = 'http://localhost:3000';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: {
    proxy: { '/v1': api, '/openapi.json': api, '/docs': api },
  },
});
