import * as React from 'react';
import Layout from '../components/layout';
// An image imported by the bundle: webpack copies it to static/ with a hash.
import photo from '../images/photo.png';

export default function About() {
  return (
    <Layout>
      <h1 id="page-about">About</h1>
      <img src={photo} alt="photo" width="120" height="80" />
    </Layout>
  );
}

export const Head = () => <title>About</title>;
