// Bundled by Hugo's js.Build (esbuild) and fingerprinted by Hugo.
const here = location.pathname;
for (const a of document.querySelectorAll('nav a')) {
  if (a.getAttribute('href') === here) a.setAttribute('aria-current', 'page');
}
