// make-images.mjs OUT.png WIDTH HEIGHT SEED: writes a deterministic RGB PNG
// (a gradient with noise, so it does not compress to nothing and no bundler
// inlines it as a data: URL). Used once to make the fixtures' source images,
// which are committed; build.sh does not run it.
import fs from 'node:fs';
import zlib from 'node:zlib';

const [out, w = '160', h = '100', seed = '1'] = process.argv.slice(2);
const W = +w, H = +h;
let s = +seed >>> 0 || 1;
const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
const raw = Buffer.alloc((W * 3 + 1) * H);
for (let y = 0; y < H; y++) {
  raw[y * (W * 3 + 1)] = 0;
  for (let x = 0; x < W; x++) {
    const o = y * (W * 3 + 1) + 1 + x * 3;
    raw[o] = (x * 255 / W + (rnd() & 7)) & 0xff;
    raw[o + 1] = (y * 255 / H + (rnd() & 7)) & 0xff;
    raw[o + 2] = ((+seed * 60) + (rnd() & 7)) & 0xff;
  }
}
const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
const crc = b => { let c = 0xffffffff; for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
const chunk = (type, data) => {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
  return Buffer.concat([len, td, c]);
};
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(W, 0); ihdr.writeUInt32BE(H, 4); ihdr[8] = 8; ihdr[9] = 2;
fs.writeFileSync(out, Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0)),
]));
