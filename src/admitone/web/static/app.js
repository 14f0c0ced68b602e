// The payment hold's visible countdown. The server gives the seconds left (its clock decides);
// this only ticks the display. When the hold ends, htmx (hx-trigger "load delay") fetches the
// payment part again from the server, which says whether it expired.
(function () {
  "use strict";
  function start(el) {
    if (el.dataset.ticking) return;
    el.dataset.ticking = "1";
    var ends = performance.now() + Number(el.dataset.secondsLeft) * 1000;
    function tick() {
      if (!document.body.contains(el)) return;
      var left = Math.max(0, Math.ceil((ends - performance.now()) / 1000));
      el.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      if (left > 0) setTimeout(tick, 250);
    }
    tick();
  }
  function scan(root) {
    root.querySelectorAll("[data-seconds-left]").forEach(start);
  }
  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  document.addEventListener("htmx:load", function (e) { scan(e.target); });
})();
