// A plain module (not fingerprinted by Hugo) that registers the service
// worker and shows its state.
const status = document.getElementById('sw-status');
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').then(async reg => {
    await navigator.serviceWorker.ready;
    status.textContent = 'service worker active';
    document.documentElement.dataset.sw = 'active';
  }).catch(err => {
    status.textContent = 'service worker failed: ' + err;
    document.documentElement.dataset.sw = 'failed';
  });
}
