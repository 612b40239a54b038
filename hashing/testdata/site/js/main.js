import "./chunk.js"; // imports are not rewritten
console.log("main");
//# sourceMappingURL=main.js.map
