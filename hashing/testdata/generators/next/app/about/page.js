import Lazy from '../../components/Lazy';

export const metadata = { title: 'About' };

export default function About() {
  return (
    <>
      <h1 id="page-about">About</h1>
      <p>The panel below is a client component loaded with next/dynamic.</p>
      <Lazy />
    </>
  );
}
