// A plain Eleventy blog: nothing is hashed by the generator. CSS, images,
// scripts and the web font are copied as they are; search.json is a
// template the page's script fetches by URL.
export default function (eleventyConfig) {
  eleventyConfig.addPassthroughCopy('src/css');
  eleventyConfig.addPassthroughCopy('src/img');
  eleventyConfig.addPassthroughCopy('src/js');
  eleventyConfig.addPassthroughCopy({ 'node_modules/@fontsource/inter/files/inter-latin-400-normal.woff2': 'fonts/inter.woff2' });
  return { dir: { input: 'src', output: '_site' } };
}
