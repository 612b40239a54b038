import { chunk } from "./chunk.js"; // rewritten
import "react"; // a bare specifier: left to the import map
const lazy = () => import("./lazy.js");
const s = "import './not-an-import.js'";
console.log("main", chunk, lazy, s);
//# sourceMappingURL=main.js.map
