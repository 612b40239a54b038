// Marks the page as scripted and shows a photo named only here.
document.addEventListener('DOMContentLoaded', () => {
  const slot = document.getElementById('photo-slot');
  if (slot) {
    const img = document.createElement('img');
    img.src = '/assets/images/photo.png';
    img.className = 'photo';
    img.alt = 'photo';
    slot.appendChild(img);
  }
  document.documentElement.dataset.js = 'ready';
});
