import { defineConfig } from 'vitepress';

// Several pages (so window.__VP_HASH_MAP__ names several page chunks), a
// logo from public/ named only by the inline site data, local search (a
// lazily loaded index chunk) and a sidebar for client-side navigation.
export default defineConfig({
  title: 'Fixture Docs',
  description: 'A VitePress fixture for cdnctl fingerprint',
  head: [['link', { rel: 'icon', type: 'image/png', href: '/hero.png' }]],
  themeConfig: {
    logo: '/hero.png',
    nav: [{ text: 'Guide', link: '/guide/' }],
    sidebar: [
      {
        text: 'Guide',
        items: [
          { text: 'Introduction', link: '/guide/' },
          { text: 'Getting started', link: '/guide/getting-started' },
          { text: 'Configuration', link: '/guide/configuration' },
          { text: 'Deploying', link: '/guide/deploying' },
        ],
      },
    ],
    search: { provider: 'local' },
  },
});
