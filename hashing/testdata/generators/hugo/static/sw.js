// Service worker: precaches the shell on install (the install fails, and the
// worker never activates, when any of these is missing), then serves from
// the cache first and falls back to the network, and to /offline/ for pages.
const CACHE = 'fixture-v1';
const PRECACHE = [
  '/',
  '/offline/',
  '/images/logo.png',
  '/images/icon-192.png',
  '/fonts/inter.woff2',
  '/js/app.mjs',
  '/site.webmanifest',
];

self.addEventListener('install', event => {
  event.waitUntil(caches.open(CACHE).then(cache => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', event => {
  event.waitUntil(caches.keys()
    .then(keys => Promise.all(keys.filter(k => k !== CACHE).map(k => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', event => {
  const { request } = event;
  if (request.method !== 'GET' || new URL(request.url).origin !== location.origin) return;
  event.respondWith(caches.match(request).then(hit => hit || fetch(request).catch(() =>
    request.mode === 'navigate' ? caches.match('/offline/') : Response.error())));
});
