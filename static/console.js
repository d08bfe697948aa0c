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

// "Copy" beside a secret shown once: the button is hidden without JS (the field can be selected
// and copied by hand); with JS it copies the field and says so in a status region.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-copy]");
  Array.prototype.forEach.call(buttons, function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        var said = button.parentNode.querySelector(".copied");
        if (said) { said.textContent = said.getAttribute("data-copied"); }
      }, function () { field.select(); });
    });
  });
})();
