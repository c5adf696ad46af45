import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

// `vite build` writes the static files the control plane serves (dist/).
// `vite` (dev) proxies the API to a control plane on localhost:3000.
const api = 'http://localhost:3000';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  // Workspace packages (@hubstream/valve) are bundled from their sources.
  resolve: { conditions: ['@hubstream/source', ...defaultClientConditions] },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: {
    proxy: { '/v1': api, '/openapi.json': api, '/docs': api },
  },
});
