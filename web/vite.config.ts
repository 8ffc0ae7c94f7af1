import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The console is served by `berth server` from the embedded dist/ (web/embed.go).
// In development, `npm run dev` proxies the API to a running server.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    chunkSizeWarningLimit: 1500,
    reportCompressedSize: true,
  },
  server: {
    proxy: { '/api': process.env.BERTH_SERVER ?? 'http://127.0.0.1:8080' },
  },
});
