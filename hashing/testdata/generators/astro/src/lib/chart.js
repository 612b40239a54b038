import './chart.css';

// A lazy chunk with its own CSS: Vite preloads both (__vite__mapDeps).
export function draw(el, banner) {
  el.className = 'chart';
  el.innerHTML = `<img src="${banner}" alt="Banner" width="96" height="32"> <span id="chart-ready">chart drawn</span>`;
}
