// The console is served by alert-manager under /console/ (and at /): assets are fingerprinted
// files under /console/assets/. Everything is bundled: no CDN, works offline.
import { cadenceOf, decisionTypes, eventTypes } from '@scalewise/events';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/console/',
  // The catalogue's event types with their cadence (src/lib/routine.ts) and its decision types
  // (the ones a click explains), read here at build time: the page gets the lists without the
  // catalogue's schemas (zod) in its bundle.
  define: {
    __SCALEWISE_CADENCES__: JSON.stringify(Object.fromEntries(eventTypes.map((t) => [t, cadenceOf(t)]))),
    __SCALEWISE_DECISION_TYPES__: JSON.stringify(decisionTypes),
  },
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
