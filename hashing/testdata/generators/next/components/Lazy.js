'use client';
import dynamic from 'next/dynamic';

// Not rendered on the server: its chunk is loaded by the browser.
const Panel = dynamic(() => import('./Panel'), { ssr: false, loading: () => <p>Loading…</p> });

export default function Lazy() {
  return <Panel />;
}
