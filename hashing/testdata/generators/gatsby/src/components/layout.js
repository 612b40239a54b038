import * as React from 'react';
import { Link } from 'gatsby';
import './layout.css';

export default function Layout({ children }) {
  return (
    <div className="layout">
      <header>
        {/* A file of static/ by its URL. */}
        <img src="/img/logo.png" alt="logo" width="32" height="32" />
        <nav>
          <Link to="/" id="nav-home">Home</Link> <Link to="/about/" id="nav-about">About</Link>
        </nav>
      </header>
      <main>{children}</main>
    </div>
  );
}
