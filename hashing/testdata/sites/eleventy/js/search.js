// Fetches the search index (a JSON file named only here) and lists the
// posts whose title matches, with their thumbnails (image URLs named only
// in that JSON).
(function () {
  var index = null;
  var q = document.getElementById('q'), out = document.getElementById('results');
  function load() {
    if (!index) index = fetch('/search.json').then(function (r) { return r.json(); });
    return index;
  }
  q.addEventListener('input', function () {
    load().then(function (posts) {
      var s = q.value.toLowerCase();
      out.innerHTML = posts.filter(function (p) { return s && p.title.toLowerCase().indexOf(s) >= 0; })
        .map(function (p) { return '<li><img src="' + p.thumb + '" alt=""> <a href="' + p.url + '">' + p.title + '</a></li>'; }).join('');
    });
  });
})();
