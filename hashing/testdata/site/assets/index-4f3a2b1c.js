console.log("bundled by another tool");
