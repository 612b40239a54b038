// Static export (out/), one folder per route (about/index.html) as static
// hosts serve them, images as they are (no image server), and a fixed build
// ID so rebuilding gives the same output.
/** @type {import('next').NextConfig} */
export default {
  output: 'export',
  trailingSlash: true,
  images: { unoptimized: true },
  generateBuildId: async () => 'fixture',
};
