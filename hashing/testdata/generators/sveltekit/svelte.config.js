import adapter from '@sveltejs/adapter-static';

// Every page prerendered into build/ (adapter-static); a fixed app version
// (by default it is the build time) so rebuilding gives the same output.
export default {
  kit: {
    adapter: adapter(),
    version: { name: 'fixture' },
  },
};
