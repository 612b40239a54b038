// A small Docusaurus site: docs with a sidebar (client-side navigation
// loads each page's chunk by a name webpack's runtime computes), a blog-less
// home page with a lazily imported component, an image in static/ named by
// a doc, and the classic theme's search-less navbar.
export default {
  title: 'Fixture Docs',
  url: 'https://fixture.example',
  baseUrl: '/',
  onBrokenLinks: 'throw',
  favicon: 'img/favicon.png',
  presets: [
    ['classic', {
      docs: { sidebarPath: './sidebars.js' },
      blog: false,
      theme: {},
    }],
  ],
  themeConfig: {
    navbar: {
      title: 'Fixture Docs',
      logo: { alt: 'Logo', src: 'img/logo.png' },
      items: [{ type: 'docSidebar', sidebarId: 'docs', position: 'left', label: 'Docs' }],
    },
  },
};
