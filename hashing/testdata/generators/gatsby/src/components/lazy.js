import * as React from 'react';

export default function Lazy() {
  return <p id="lazy-ready">Loaded by React.lazy.</p>;
}
