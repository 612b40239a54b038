// Matches each request of requests.tsv against _redirects with Netlify's
// redirect engine (the npm package netlify-redirector, the WebAssembly
// build netlify dev runs) and prints one TSV row per request.
const fs = require("fs");
const redirector = require("netlify-redirector");
(async () => {
  const m = await redirector.parsePlain(fs.readFileSync("_redirects", "utf8"), {});
  const rows = fs.readFileSync("requests.tsv", "utf8").split("\n").filter(l => l && !l.startsWith("#"));
  console.log("# host\tpath\tquery\tfrom\tto\tstatus\tforce\t(netlify-redirector " + require("netlify-redirector/package.json").version + ", recorded by record.sh)");
  for (const row of rows) {
    const [host, path, query = ""] = row.split("\t");
    const r = m.match({ scheme: "https", host, path, query, getHeader: () => "", getCookie: () => "" });
    console.log([host, path, query, r ? r.from : "-", r ? r.to : "-", r ? r.status : "-", r ? r.force : "-"].join("\t"));
  }
})();
