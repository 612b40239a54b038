// Prerender every page, each as folder/index.html.
export const prerender = true;
export const trailingSlash = 'always';
