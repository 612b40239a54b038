// The sample site's script: lists what the page loaded and how (from the
// network or a cache), and shows which edge answered.

const table = document.querySelector("#resources tbody");

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  return `${(n / 1024).toFixed(1)} KiB`;
}

function listResources() {
  if (!table) return;
  table.replaceChildren();
  for (const entry of performance.getEntriesByType("resource")) {
    const row = table.insertRow();
    const url = new URL(entry.name);
    row.insertCell().textContent = url.pathname;
    row.insertCell().textContent = entry.transferSize === 0 ? "cache" : formatBytes(entry.transferSize);
    row.insertCell().textContent = formatBytes(entry.decodedBodySize);
  }
}

async function showServedBy() {
  const target = document.getElementById("served-by");
  if (!target) return;
  try {
    const res = await fetch(location.href, { method: "HEAD", cache: "no-store" });
    const pop = res.headers.get("X-Served-By");
    if (pop) target.textContent = pop;
  } catch {
    // Offline or blocked: keep the default text.
  }
}

addEventListener("load", () => {
  listResources();
  showServedBy();
});
