import Link from 'next/link';

const posts = { hello: 'Hello', world: 'World' };

export function generateStaticParams() {
  return Object.keys(posts).map(slug => ({ slug }));
}

export default async function Post({ params }) {
  const { slug } = await params;
  return (
    <>
      <h1 id={`page-${slug}`}>{posts[slug]}</h1>
      <p>A dynamic route, exported once per slug.</p>
      <Link href="/">Back home</Link>
    </>
  );
}
