// The console is served by alert-manager under /console/ (and at /): assets are fingerprinted
// files under /console/assets/. Everything is bundled: no CDN, works offline.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/console/',
  build: {
    outDir: 'dist/web',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
  server: {
    // `pnpm --filter @scalewise/console dev`: the API from a local alert-manager.
    proxy: {
      '/v1': 'http://127.0.0.1:8086',
      '/console/api': 'http://127.0.0.1:8086',
      '/events': { target: 'ws://127.0.0.1:8086', ws: true },
    },
  },
});
