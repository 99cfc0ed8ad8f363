// The dashboard's build (run as `vite build web`): Preact through its Vite preset, into web/dist,
// which Ferry serves. Everything is bundled; nothing is fetched from outside at run time.
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  plugins: [preact()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
});
