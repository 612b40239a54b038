// Package hashing fingerprints a static site for a CDN: it copies a build
// folder into content-hashed names ("css/app.3f9a1c0e2b.css"), rewrites
// the references of HTML, CSS, JavaScript (module specifiers, worker and
// asset URLs, source map comments), source maps and web app manifests so
// the site still works, writes precompressed
// .br/.gz copies and a manifest (logical path → hashed path, SHA-256,
// Subresource Integrity, size, content type, Cache-Control, tags,
// encodings) that the rest of cdnctl reads.
//
// Entry points (pages, robots.txt, favicon.ico, web manifests, service
// workers, .well-known/…) keep their names and get a revalidated
// Cache-Control. Files a bundler already content-hashed (Vite, Next.js,
// SvelteKit, Astro, webpack, esbuild, Hugo Pipes, Pagefind…, see
// detect.go) or declared prehashed keep their names and bytes and get an
// immutable one. Any other file gets its hash and an immutable one, unless
// some string of the site names it where fingerprint does not rewrite
// references (a script's string, a data file, a feed, a file kept byte for
// byte, see occur.go): then it keeps its name, revalidated, and
// Result.Pinned says where it is named. A
// file's hash is taken after its own references were rewritten, so files
// are processed in dependency order (in parallel, streaming); the scripts
// of a JavaScript import cycle keep their names, any other reference
// cycle is an error.
//
// Build works on any fs.FS and any Output (a folder, or Discard for a dry
// run). Fingerprint and FingerprintDir write a folder atomically and reuse
// the unchanged files of the previous run into it.
//
// ContentType, IsText and Compressible are cdnctl's one table of web media
// types; Manifest and LoadManifest are the manifest schema every command
// shares.
package hashing
