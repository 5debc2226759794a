// Slipway console: progressive enhancement over server-rendered pages.
// Pages work without this script; with it they update live, tail logs and
// guard the delete and create forms.
"use strict";

(function () {
  // Times are rendered in UTC by the server; show them in local time.
  function localizeTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) {
        t.title = t.getAttribute("datetime");
        t.textContent = d.toLocaleString();
      }
    });
  }

  // Live regions: on each change event, fetch this page again and swap
  // the elements marked data-live whose HTML changed. Forms being edited
  // are never inside a live region, so nothing typed is lost.
  function liveUpdates() {
    var feed = document.body.dataset.feed;
    if (!feed || !window.EventSource || !document.querySelector("[data-live]")) return;
    var busy = false, again = false;
    function refresh() {
      if (busy) { again = true; return; }
      busy = true;
      // A stuck request must not block later refreshes.
      var abort = new AbortController();
      var timer = setTimeout(function () { abort.abort(); }, 10000);
      fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" }, signal: abort.signal })
        .then(function (r) {
          if (r.redirected || !r.ok) throw new Error("status " + r.status);
          return r.text();
        })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          document.querySelectorAll("[data-live]").forEach(function (el) {
            var fresh = el.id && doc.getElementById(el.id);
            if (!fresh || fresh.innerHTML === el.dataset.rendered) return;
            var focused = document.activeElement && el.contains(document.activeElement) ? document.activeElement.id : "";
            el.innerHTML = fresh.innerHTML;
            el.dataset.rendered = fresh.innerHTML;
            localizeTimes(el);
            if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
          });
          document.title = doc.title;
        })
        .catch(function () { /* the next event retries */ })
        .finally(function () {
          clearTimeout(timer);
          busy = false;
          if (again) { again = false; refresh(); }
        });
    }
    document.querySelectorAll("[data-live]").forEach(function (el) {
      el.dataset.rendered = el.innerHTML;
    });
    var es = new EventSource(feed);
    es.addEventListener("change", refresh);
    // Writes between rendering this page and subscribing (an operation can
    // end in that gap) or while reconnecting send no event: catch up on
    // every (re)connect.
    es.addEventListener("open", refresh);
  }

  // Logs tab: live tail over server-sent events.
  function logTail() {
    var view = document.getElementById("log-view");
    if (!view || !window.EventSource) return;
    var body = view.querySelector("tbody");
    var empty = document.getElementById("log-empty");
    var follow = document.getElementById("follow");
    var es = new EventSource(view.dataset.stream);
    var pending = [];
    function flush() {
      var frag = document.createDocumentFragment();
      pending.forEach(function (e) {
        var tr = document.createElement("tr");
        tr.className = "stream-" + e.stream;
        [new Date(e.time).toLocaleTimeString(), e.source, e.text].forEach(function (text, i) {
          var td = document.createElement("td");
          td.className = ["t", "src", "txt"][i];
          if (i === 2 && e.parts) {
            // ANSI-styled runs: coloured text, never markup.
            e.parts.forEach(function (p) {
              var span = document.createElement("span");
              if (p.c) span.className = p.c;
              span.textContent = p.t;
              td.appendChild(span);
            });
          } else {
            td.textContent = text;
          }
          tr.appendChild(td);
        });
        frag.appendChild(tr);
      });
      pending = [];
      body.appendChild(frag);
      if (empty) empty.hidden = body.children.length > 0;
      if (follow && follow.checked) view.scrollTop = view.scrollHeight;
    }
    es.addEventListener("reset", function () { body.textContent = ""; pending = []; });
    es.addEventListener("message", function (ev) {
      if (!pending.length) requestAnimationFrame(flush);
      pending.push(JSON.parse(ev.data));
    });
    es.addEventListener("failure", function (ev) {
      if (empty) { empty.hidden = false; empty.textContent = JSON.parse(ev.data).message; }
      es.close();
    });
    document.querySelectorAll("[data-autosubmit]").forEach(function (sel) {
      sel.addEventListener("change", function () { sel.form.submit(); });
    });
  }

  // Delete: the button works once the service's name is typed (the server
  // checks it again).
  function deleteGuard() {
    document.querySelectorAll(".delete-form").forEach(function (form) {
      var input = form.querySelector("input[name=confirm]");
      var button = form.querySelector("button");
      function check() { button.disabled = input.value.trim() !== form.dataset.name; }
      input.addEventListener("input", check);
      check();
    });
  }

  // Create and configuration forms: show the fields that apply. Hidden
  // fieldsets are disabled so their inputs are not submitted.
  function formToggles() {
    function apply() {
      var kind = document.querySelector("input[data-kind]:checked");
      document.querySelectorAll("[data-when]").forEach(function (fs) {
        if (!kind) return;
        var on = fs.dataset.when === kind.value;
        fs.hidden = !on;
        fs.disabled = !on;
      });
      var cs = document.querySelector("[data-config-source]");
      document.querySelectorAll("[data-when-config]").forEach(function (el) {
        el.hidden = !cs || cs.value !== el.dataset.whenConfig;
      });
    }
    document.querySelectorAll("input[data-kind], [data-config-source]").forEach(function (el) {
      el.addEventListener("change", apply);
    });
    apply();
  }

  document.addEventListener("DOMContentLoaded", function () {
    // liveUpdates snapshots the server's HTML first, so a refresh that
    // brings the same HTML leaves the page (and the focus) alone.
    liveUpdates();
    localizeTimes(document);
    logTail();
    deleteGuard();
    formToggles();
  });
})();
