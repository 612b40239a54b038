import localFont from 'next/font/local';
import Link from 'next/link';
import './globals.css';

const inter = localFont({
  src: '../node_modules/@fontsource/inter/files/inter-latin-400-normal.woff2',
  display: 'swap',
});

export const metadata = { title: 'Fixture: Next.js static export' };

export default function RootLayout({ children }) {
  return (
    <html lang="en" className={inter.className}>
      <body>
        <header>
          <nav>
            <Link href="/" id="nav-home">Home</Link>
            <Link href="/about/" id="nav-about">About</Link>
            <Link href="/blog/hello/" id="nav-hello">Hello post</Link>
            <Link href="/blog/world/" id="nav-world">World post</Link>
          </nav>
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
