(()=>{var e=location.pathname;for(let t of document.querySelectorAll("nav a"))t.getAttribute("href")===e&&t.setAttribute("aria-current","page");})();
