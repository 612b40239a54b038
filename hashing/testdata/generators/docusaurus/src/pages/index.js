import React, { lazy, Suspense, useState } from 'react';
import Layout from '@theme/Layout';
import Link from '@docusaurus/Link';

const LazyPanel = lazy(() => import('../components/Lazy'));

export default function Home() {
  const [show, setShow] = useState(false);
  return (
    <Layout title="Home">
      <main id="page-home">
        <h1>Fixture Docs</h1>
        <Link id="nav-intro" to="/docs/intro">Read the docs</Link>
        <button id="load-lazy" onClick={() => setShow(true)}>Load</button>
        {show && <Suspense fallback={null}><LazyPanel /></Suspense>}
      </main>
    </Layout>
  );
}
