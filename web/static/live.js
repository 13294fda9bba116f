// Live regions: an element with data-live="URL" is refreshed from URL every data-every
// milliseconds until the server says it is settled (X-Pushgrade-Settled: 1). The server
// renders the fragment (escaped as every page is); no framework, nothing else.
(function () {
  "use strict";
  function follow(region) {
    var every = parseInt(region.getAttribute("data-every"), 10) || 2000;
    function tick() {
      fetch(region.getAttribute("data-live"), {
        credentials: "same-origin",
        headers: { "Accept": "text/html" }
      }).then(function (response) {
        if (!response.ok) {
          // Signed out, or no longer allowed: stop, and say so.
          region.setAttribute("data-live-stopped", String(response.status));
          return null;
        }
        var settled = response.headers.get("X-Pushgrade-Settled") === "1";
        return response.text().then(function (html) {
          region.innerHTML = html;
          region.setAttribute("data-settled", settled ? "1" : "0");
          if (!settled) { window.setTimeout(tick, every); }
        });
      }).catch(function () {
        window.setTimeout(tick, every * 2);  // the server restarting: keep trying, slower
      });
    }
    if (region.getAttribute("data-settled") !== "1") { window.setTimeout(tick, every); }
  }
  document.querySelectorAll("[data-live]").forEach(follow);
}());
