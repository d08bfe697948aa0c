/* Accord wizard enhancements. Everything works without this file (plain forms, 303 redirects);
   with it: focus after htmx swaps, and the signature pad. */
(function () {
  "use strict";

  /* After a page or an htmx swap: focus the error summary if there is one, else the heading,
     so screen readers announce the new screen (htmx updates document.title from <title>). */
  function focusMain(initial) {
    var main = document.getElementById("main");
    if (!main) return;
    var summary = main.querySelector(".error-summary");
    var target = summary || (initial ? null : main.querySelector("h1"));
    if (!target) return;
    if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.focus();
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "main") {
      focusMain(false);
      setupSignatures(document);
      /* a counter tests (and anyone) can wait on: the new screen is in place */
      document.body.setAttribute("data-swaps", String(Number(document.body.getAttribute("data-swaps") || 0) + 1));
    }
  });

  /* The signature pad: pointer events (mouse, pen, touch) draw on a canvas; the PNG data URL
     goes into the hidden input when the form is sent. "Type your name instead" stays available. */
  function setupSignatures(root) {
    var boxes = root.querySelectorAll("[data-signature]");
    Array.prototype.forEach.call(boxes, function (box) {
      if (box.dataset.ready) return;
      box.dataset.ready = "1";
      var pad = box.querySelector(".signature-pad");
      var canvas = box.querySelector("canvas");
      var input = box.querySelector("[data-signature-value]");
      if (!pad || !canvas || !input || !canvas.getContext) return;
      pad.hidden = false;
      var ctx = canvas.getContext("2d");
      ctx.lineWidth = 3;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = "#1b1f24";
      var drawing = false;
      var drawn = false;

      function point(event) {
        var rect = canvas.getBoundingClientRect();
        return {
          x: (event.clientX - rect.left) * (canvas.width / rect.width),
          y: (event.clientY - rect.top) * (canvas.height / rect.height)
        };
      }
      canvas.addEventListener("pointerdown", function (event) {
        drawing = true;
        canvas.setPointerCapture(event.pointerId);
        var p = point(event);
        ctx.beginPath();
        ctx.moveTo(p.x, p.y);
        ctx.lineTo(p.x + 0.1, p.y + 0.1);
        ctx.stroke();
        drawn = true;
        event.preventDefault();
      });
      canvas.addEventListener("pointermove", function (event) {
        if (!drawing) return;
        var p = point(event);
        ctx.lineTo(p.x, p.y);
        ctx.stroke();
        event.preventDefault();
      });
      function stop() {
        if (!drawing) return;
        drawing = false;
        input.value = drawn ? canvas.toDataURL("image/png") : "";
      }
      canvas.addEventListener("pointerup", stop);
      canvas.addEventListener("pointercancel", stop);
      canvas.addEventListener("pointerleave", stop);
      var clear = box.querySelector("[data-clear]");
      if (clear) {
        clear.addEventListener("click", function () {
          ctx.clearRect(0, 0, canvas.width, canvas.height);
          drawn = false;
          input.value = "";
        });
      }
    });
  }

  function ready() {
    document.body.setAttribute("data-swaps", "0");
    focusMain(true);
    setupSignatures(document);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
