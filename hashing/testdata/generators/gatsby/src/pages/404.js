import * as React from 'react';

export default function NotFound() {
  return <h1 id="page-404">Not found</h1>;
}
