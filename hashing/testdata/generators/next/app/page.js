import Image from 'next/image';
import Link from 'next/link';
import logo from '../public/logo.png';

export default function Home() {
  return (
    <>
      <h1 id="page-home">Home</h1>
      {/* A statically imported image: a hashed copy under _next/static/media. */}
      <Image src={logo} alt="Logo (imported)" width={96} height={64} priority />
      {/* The file of public/ by its URL: named in the HTML and the RSC payload. */}
      <Image src="/logo.png" alt="Logo" width={96} height={64} />
      <p><Link href="/about/">Read about this fixture</Link></p>
    </>
  );
}
