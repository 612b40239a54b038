import * as React from 'react';
import Layout from '../components/layout';

const Lazy = React.lazy(() => import('../components/lazy'));

export default function Index() {
  const [show, setShow] = React.useState(false);
  return (
    <Layout>
      <h1 id="page-home">Gatsby fixture</h1>
      <button id="load-lazy" onClick={() => setShow(true)}>Load</button>
      {show && (
        <React.Suspense fallback={<p>…</p>}>
          <Lazy />
        </React.Suspense>
      )}
    </Layout>
  );
}

export const Head = () => <title>Home</title>;
