// The claim page's script (served from /claim/assets/claim.js; the page's CSP allows no inline
// script). It adds what plain HTML cannot: the status, live (long-polling ./<token>/status), the
// expiry countdown, times in the reader's own time zone, and a copy button. Without it the page
// still shows everything as of its load.
(function () {
  "use strict";
  var main = document.getElementById("claim");
  if (!main) { return; }
  var token = main.getAttribute("data-token");
  var statusUrl = token + "/status";
  var expiry = parseInt(main.getAttribute("data-expiry") || "", 10);
  // Server time minus device time, so a wrong device clock does not skew the countdown.
  var skew = parseInt(main.getAttribute("data-now") || "", 10) * 1000 - Date.now();
  if (isNaN(skew)) { skew = 0; }
  var statusEl = document.getElementById("status");
  var actions = document.getElementById("claim-actions");
  var countdown = document.getElementById("countdown");
  var expiryLine = document.getElementById("expiry-line");
  var TERMINAL = { paid: true, disabled: true, expired: true, failed: true };
  var current = main.getAttribute("data-status");
  var timer = null;

  function localTime(secs) {
    try {
      return new Date(secs * 1000).toLocaleString(undefined, {
        dateStyle: "medium", timeStyle: "short"
      });
    } catch (e) {
      return new Date(secs * 1000).toString();
    }
  }

  function text(status, paidAt) {
    switch (status) {
      case "open": return "Ready to claim";
      case "paying": return "Payment on its way\u2026";
      case "paid": return paidAt ? "Paid on " + localTime(paidAt) : "Paid";
      case "disabled": return "Withdrawn by the sender";
      case "expired": return "Expired";
      case "pending": return "Being prepared";
      case "failed": return "Could not be prepared";
      case "revoked": return "This link is no longer valid";
      default: return status;
    }
  }

  function show(status, paidAt) {
    current = status;
    main.setAttribute("data-status", status);
    statusEl.setAttribute("data-status", status);
    statusEl.textContent = text(status, paidAt);
    if (TERMINAL[status] || status === "revoked") {
      if (actions) { actions.hidden = true; }
      if (expiryLine) { expiryLine.hidden = true; }
      if (countdown) { countdown.textContent = ""; }
      if (timer !== null) { clearInterval(timer); timer = null; }
    }
  }

  function span(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
    var m = Math.floor(s % 3600 / 60), r = s % 60;
    if (d > 0) { return d + " d " + h + " h"; }
    if (h > 0) { return h + " h " + m + " min"; }
    if (m > 0) { return m + " min " + r + " s"; }
    return r + " s";
  }

  function tick() {
    if (!countdown || isNaN(expiry) || TERMINAL[current]) { return; }
    var left = expiry * 1000 - (Date.now() + skew);
    if (left <= 0) {
      show("expired", null);
    } else {
      countdown.textContent = "(" + span(left) + " left)";
    }
  }

  // Long-poll: the server holds the answer until the status differs from ours (or ~20 s pass).
  var delay = 1000;
  function poll() {
    if (TERMINAL[current] || current === "revoked") { return; }
    fetch(statusUrl + "?since=" + encodeURIComponent(current) + "&wait=20", {
      cache: "no-store", credentials: "omit", headers: { "Accept": "application/json" }
    }).then(function (res) {
      if (res.status === 404 || res.status === 410) { show("revoked", null); return null; }
      if (!res.ok) { throw new Error("HTTP " + res.status); }
      return res.json();
    }).then(function (body) {
      if (body === null) { return; }
      delay = 1000;
      if (body.status !== current) { show(body.status, body.paid_at); }
      setTimeout(poll, 250);
    }).catch(function () {
      delay = Math.min(delay * 2, 30000);
      setTimeout(poll, delay);
    });
  }

  var copy = document.getElementById("copy");
  var lnr = document.getElementById("lnr");
  var copyResult = document.getElementById("copy-result");
  if (copy && lnr) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      function done(ok) {
        copyResult.textContent = ok ? "Copied." : "Select the request and copy it.";
      }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(lnr.value).then(function () { done(true); }, function () {
          lnr.focus(); lnr.select(); done(false);
        });
      } else {
        lnr.focus(); lnr.select();
        var ok = false;
        try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
        done(ok);
      }
    });
  }

  var expiryEl = document.getElementById("expiry");
  if (expiryEl && !isNaN(expiry)) { expiryEl.textContent = localTime(expiry); }
  var paidAt = parseInt(main.getAttribute("data-paid-at") || "", 10);
  show(current, isNaN(paidAt) ? null : paidAt);
  if (!TERMINAL[current]) {
    tick();
    timer = setInterval(tick, 1000);
    // The status was rendered just now: start watching after a moment.
    setTimeout(poll, 1000);
  }
})();
