import { defineConfig } from 'astro/config';

// Static output (the default): one folder per page, bundled assets under
// _astro/, client-side navigation by the ClientRouter with prefetching.
// Style sheets are always external files (as Astro does by default for
// style sheets over 4 kB, which a real site's usually are), so the fixture
// has hashed CSS under _astro/ naming fonts and other assets.
export default defineConfig({
  site: 'https://fixture.example',
  prefetch: true,
  build: { inlineStylesheets: 'never' },
});
