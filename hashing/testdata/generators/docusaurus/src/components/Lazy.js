export default function Lazy() {
  return <p id="lazy-ready">Loaded lazily.</p>;
}
