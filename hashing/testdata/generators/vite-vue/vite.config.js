import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// Production build with source maps (their "sources" name the files of the
// project, not of the site) and Vite's build manifest (.vite/manifest.json).
export default defineConfig({
  plugins: [vue()],
  build: {
    sourcemap: true,
    manifest: true,
  },
});
