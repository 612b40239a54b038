function n(a,r){a.className="chart",a.innerHTML=`<img src="${r}" alt="Banner" width="96" height="32"> <span id="chart-ready">chart drawn</span>`}export{n as draw};
