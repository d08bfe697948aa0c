// The agent console's live updates: one EventSource on /console/events; on each change the page
// re-reads its live part (the element with data-live) and swaps it in place, without a reload.
(function () {
  "use strict";
  var live = document.querySelector("[data-live]");
  if (!live || !window.EventSource) { return; }
  var timer = null, busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(live.getAttribute("data-live") + window.location.search, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null) {
          live.innerHTML = html;
          live.setAttribute("data-refreshed", String(Number(live.getAttribute("data-refreshed") || "0") + 1));
        }
      })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  var source = new EventSource("/console/events");
  source.addEventListener("open", function () {
    document.body.setAttribute("data-live", "on");
    var state = document.getElementById("live-state");
    if (state) { state.hidden = false; }
  });
  source.addEventListener("error", function () { document.body.setAttribute("data-live", "off"); });
  source.addEventListener("change", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 100);
  });
})();
