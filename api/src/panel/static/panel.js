// Tenantry admin panel: the one script of every page (no inline script: the CSP forbids it).
// Live parts (server-sent events), the slug suggestion, the plan's default isolation, the copy
// button. Errors are recorded in window.__panelErrors (the browser tests read it) and logged.
"use strict";

window.__panelErrors = [];
function recordError(text) {
  window.__panelErrors.push(String(text));
}
window.addEventListener("error", function (e) {
  recordError(e.message || "error");
});
window.addEventListener("unhandledrejection", function (e) {
  recordError("unhandled rejection: " + (e.reason && e.reason.message ? e.reason.message : e.reason));
});
document.addEventListener("securitypolicyviolation", function (e) {
  recordError("CSP violation: " + e.violatedDirective + " " + e.blockedURI);
});

// Parses rows or sections sent as HTML by the server (escaped there).
function fragment(html) {
  var t = document.createElement("template");
  t.innerHTML = html;
  return t.content;
}

// Replaces the children of `element` with `html`, unless they are that already.
function replaceWith(element, html) {
  var t = document.createElement("template");
  t.innerHTML = html;
  if (t.innerHTML !== element.innerHTML) element.replaceChildren(t.content);
}

// An EventSource whose page reloads if the stream is refused (the session is over: the reload
// lands on the login page, with ?next= back here).
function live(url, handlers) {
  var dot = document.getElementById("live-state");
  var source = new EventSource(url);
  source.onopen = function () {
    if (dot) dot.classList.add("on");
  };
  source.onerror = function () {
    if (dot) dot.classList.remove("on");
    if (source.readyState === EventSource.CLOSED) {
      setTimeout(function () { window.location.reload(); }, 1000);
    }
  };
  Object.keys(handlers).forEach(function (name) {
    source.addEventListener(name, function (e) { handlers[name](e.data); });
  });
  window.addEventListener("pagehide", function () { source.close(); });
  return source;
}

function liveTable() {
  var table = document.getElementById("tenants");
  if (!table || !table.dataset.live) return;
  var body = table.tBodies[0];
  var firstPage = table.dataset.firstPage === "true";
  live(table.dataset.live, {
    row: function (html) {
      var row = fragment(html).firstElementChild;
      if (!row) return;
      var old = document.getElementById(row.id);
      if (old) {
        // Unchanged rows stay as they are (no flicker, focus and selection kept).
        if (old.outerHTML !== row.outerHTML) old.replaceWith(row);
      } else if (firstPage) {
        body.insertBefore(row, body.firstChild);
        var none = document.getElementById("no-tenants");
        if (none) none.remove();
      }
    }
  });
}

function liveTenant() {
  var part = document.getElementById("tenant-live");
  if (!part || !part.dataset.live) return;
  var history = document.getElementById("tenant-history");
  live(part.dataset.live, {
    tenant: function (html) {
      replaceWith(part, html);
    },
    history: function (html) {
      if (history) replaceWith(history, html);
    }
  });
}

function newTenantForm() {
  var form = document.getElementById("new-tenant");
  if (!form) return;
  var name = document.getElementById("name");
  var slug = document.getElementById("slug");
  var status = document.getElementById("slug-status");
  var host = document.getElementById("default-host");
  var plan = document.getElementById("plan");
  var isolation = document.getElementById("isolation");
  var typed = slug.value !== "";
  var timer = null;
  var asked = 0;

  function check() {
    var n = ++asked;
    var query = typed ? "slug=" + encodeURIComponent(slug.value) : "name=" + encodeURIComponent(name.value);
    fetch("/tenants/slug?" + query, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok && !r.redirected ? r.json() : null; })
      .then(function (answer) {
        if (!answer || n !== asked) return;
        if (!typed) slug.value = answer.valid ? answer.slug : "";
        var shown = answer.slug || "{slug}";
        host.textContent = shown + "." + form.dataset.baseDomain;
        status.textContent = (answer.slug ? answer.slug + ": " : "") + answer.message;
        status.className = "hint " + (answer.valid && answer.available ? "good" : "bad");
      })
      .catch(function () { /* offline: the server checks again on submit */ });
  }
  function later() {
    clearTimeout(timer);
    timer = setTimeout(check, 200);
  }
  name.addEventListener("input", function () { if (!typed) later(); });
  slug.addEventListener("input", function () {
    typed = slug.value !== "";
    later();
  });
  plan.addEventListener("change", function () {
    var option = plan.options[plan.selectedIndex];
    if (option && option.dataset.isolation) isolation.value = option.dataset.isolation;
  });
}

function copyButtons() {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.dataset.copy);
      if (!source) return;
      var text = source.textContent;
      var done = function () { button.textContent = button.dataset.copied; };
      var select = function () {
        var range = document.createRange();
        range.selectNodeContents(source);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, select);
      } else {
        select();
      }
    });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  liveTable();
  liveTenant();
  newTenantForm();
  copyButtons();
});
