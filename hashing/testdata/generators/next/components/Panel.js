'use client';
import { useState } from 'react';
import styles from './Panel.module.css';

export default function Panel() {
  const [n, setN] = useState(0);
  return (
    <div className={styles.panel} id="lazy-panel">
      <p>Loaded lazily.</p>
      <button onClick={() => setN(n + 1)}>Clicked {n} times</button>
    </div>
  );
}
