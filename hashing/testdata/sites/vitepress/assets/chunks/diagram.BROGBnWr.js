const s="/assets/diagram.B1WHFiYw.png";export{s as _};
