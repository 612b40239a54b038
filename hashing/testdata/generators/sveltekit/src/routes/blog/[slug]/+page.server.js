// Prerendered for each slug; the page data becomes a __data.json file the
// client fetches on navigation.
export const entries = () => [{ slug: 'first' }, { slug: 'second' }];

export function load({ params }) {
  return { slug: params.slug, title: params.slug === 'first' ? 'First post' : 'Second post' };
}
