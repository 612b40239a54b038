import { defineConfig } from 'astro/config';
import starlight from '@astrojs/starlight';

// Astro Starlight docs: a logo, a sidebar, Pagefind search (its index,
// fragments and WebAssembly are loaded by names the Pagefind runtime
// computes), the sitemap integration and an og:image from public/.
export default defineConfig({
  site: 'https://fixture.example',
  integrations: [
    starlight({
      title: 'Starlight fixture',
      logo: { src: './src/assets/logo.png' },
      head: [{ tag: 'meta', attrs: { property: 'og:image', content: 'https://fixture.example/og.png' } }],
      sidebar: [
        { label: 'Guides', autogenerate: { directory: 'guides' } },
        { label: 'Reference', autogenerate: { directory: 'reference' } },
      ],
    }),
  ],
});
