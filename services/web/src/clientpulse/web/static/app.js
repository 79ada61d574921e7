// Progressive enhancement: every page works without this script.
// - live notifications: the console's relay of the gateway's event stream bumps the unread badge
//   and lists each new notification with a link to its client;
// - backfill progress: polls the backfill until it finishes, then reloads the results.
(function () {
  "use strict";

  function clientHref(n) {
    if (!n.client_id) { return "/notifications"; }
    var parts = (n.link || "").split("#")[0].split("/").filter(Boolean);
    var tabs = ["tiering", "health", "qbrs", "goals", "notes", "history", "connections", "results", "insights"];
    var tab = parts.length > 2 && tabs.indexOf(parts[2]) >= 0 ? "/" + parts[2] : "";
    return "/clients/" + encodeURIComponent(n.client_id) + tab;
  }

  function liveNotifications() {
    var list = document.getElementById("live-notifications");
    var badge = document.getElementById("unread-count");
    if (!list || !window.EventSource) { return; }
    var source = new EventSource(list.getAttribute("data-stream"));
    var seen = {};
    source.addEventListener("notification", function (event) {
      var n = JSON.parse(event.data);
      if (seen[n.id] || n.read_at) { return; }
      seen[n.id] = true;
      var started = list.getAttribute("data-started");
      if (started && n.created_at < started) { return; }
      if (badge) {
        var count = parseInt(badge.getAttribute("data-count") || "0", 10) + 1;
        badge.setAttribute("data-count", String(count));
        badge.firstChild.nodeValue = String(count);
        badge.hidden = false;
      }
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = clientHref(n);
      link.textContent = n.title;
      item.appendChild(link);
      list.insertBefore(item, list.firstChild);
      while (list.children.length > 5) { list.removeChild(list.lastChild); }
    });
    list.setAttribute("data-started", new Date().toISOString());
  }

  function backfillProgress() {
    var box = document.getElementById("backfill");
    if (!box) { return; }
    var done = ["completed", "partial", "failed"];
    function poll() {
      fetch(box.getAttribute("data-url"), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (b) {
          box.querySelector(".backfill-status").textContent = b.status;
          var bar = document.getElementById("backfill-progress");
          bar.max = b.slices_total || 1;
          bar.value = b.slices_done;
          box.querySelector(".backfill-count").textContent = b.slices_done + " of " + b.slices_total;
          box.querySelector(".backfill-rows").textContent = b.rows_written;
          box.setAttribute("data-status", b.status);
          if (done.indexOf(b.status) < 0) { window.setTimeout(poll, 1000); }
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    }
    if (done.indexOf(box.getAttribute("data-status")) < 0) { poll(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    liveNotifications();
    backfillProgress();
  });
})();
