// The storefront's little JavaScript: autocomplete, the shopper switcher, and event buttons that
// post to /v1/events and then refresh the shelves from their server-rendered fragments.
(function () {
  "use strict";
  var keyMeta = document.querySelector('meta[name="shoprec-key"]');
  var apiKey = keyMeta ? keyMeta.content : null;
  var user = document.querySelector('meta[name="shoprec-user"]').content;

  function headers(extra) {
    var h = extra || {};
    if (apiKey) { h["X-API-Key"] = apiKey; }
    return h;
  }

  function toast(text, isError) {
    var box = document.getElementById("toast");
    box.textContent = text;
    box.className = "toast" + (isError ? " error" : "");
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { box.hidden = true; }, 2500);
  }

  // ---- the sort select and the shopper switcher
  // Sorting applies as soon as it is chosen (here, not inline: the page's policy allows no inline script).
  Array.prototype.forEach.call(document.querySelectorAll("form.sort select"), function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // The demo's switcher (only with --demo): the server signs a session for the chosen shopper.
  var switcher = document.getElementById("user-switcher");
  if (switcher) {
    switcher.addEventListener("change", function () { switcher.form.submit(); });
  }

  // ---- shelves
  function refreshShelves() {
    var shelves = document.querySelectorAll("[data-shelf-src]");
    return Promise.all(Array.prototype.map.call(shelves, function (shelf) {
      return fetch(shelf.getAttribute("data-shelf-src"), { headers: headers(), credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.firstElementChild;
          if (fresh) { shelf.replaceWith(fresh); }
        });
    })).then(function () { document.body.setAttribute("data-shelves-version", String(Date.now())); });
  }

  // ---- events
  var LABELS = { view: "Viewed", add_to_cart: "Added to cart", purchase: "Purchased" };
  function postEvent(itemId, type, shownIn) {
    if (!apiKey) {
      toast("This storefront is read-only (no storefront key).", true);
      return Promise.resolve(false);
    }
    var event = { user_id: user, item_id: itemId, event_type: type };
    if (shownIn) { event.request_id = shownIn.requestId; event.position = shownIn.position; }
    var body = JSON.stringify(event);
    return fetch("/v1/events", { method: "POST", headers: headers({ "Content-Type": "application/json" }), body: body })
      .then(function (r) {
        if (!r.ok) {
          return r.json().then(function (e) { toast(e.message || "The event was refused", true); return false; });
        }
        return refreshShelves().then(function () { toast(LABELS[type] || "Saved"); return true; });
      })
      .catch(function () { toast("The shop could not be reached", true); return false; });
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("[data-event]") : null;
    if (!button) { return; }
    button.disabled = true;
    postEvent(button.getAttribute("data-item"), button.getAttribute("data-event"))
      .then(function () { button.disabled = false; });
  });

  // A product opened from a shelf or search results carries the list's request id and the card's
  // position (?rid=&pos=): its view is credited to that list as a click (docs/experiments.md).
  function shownIn() {
    var params = new URLSearchParams(window.location.search);
    var requestId = params.get("rid");
    var position = parseInt(params.get("pos"), 10);
    if (!requestId || !/^[A-Za-z0-9_-]{1,64}$/.test(requestId) || !(position >= 1)) { return null; }
    // Dropped from the address: a link shared or bookmarked is not a click on this list.
    if (window.history && window.history.replaceState) { window.history.replaceState(null, "", window.location.pathname); }
    return { requestId: requestId, position: position };
  }

  var product = document.querySelector("[data-auto-view]");
  if (product && apiKey) { postEvent(product.getAttribute("data-item-id"), "view", shownIn()); }

  // ---- autocomplete
  var box = document.getElementById("search-box");
  var list = document.getElementById("suggestions");
  var timer = null;
  var latest = 0;
  function hide() { list.hidden = true; list.innerHTML = ""; }
  if (box && list) {
    box.addEventListener("input", function () {
      clearTimeout(timer);
      var q = box.value.trim();
      if (!q) { hide(); return; }
      timer = setTimeout(function () {
        var ticket = ++latest;
        fetch("/v1/autocomplete?q=" + encodeURIComponent(q), { headers: headers() })
          .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
          .then(function (data) {
            if (ticket !== latest) { return; }
            list.innerHTML = "";
            data.suggestions.forEach(function (s) {
              var li = document.createElement("li");
              li.textContent = s.text;
              li.setAttribute("data-kind", s.kind);
              li.addEventListener("mousedown", function (ev) {
                ev.preventDefault();
                box.value = s.text;
                box.form.submit();
              });
              list.appendChild(li);
            });
            list.hidden = data.suggestions.length === 0;
          })
          .catch(hide);
      }, 120);
    });
    box.addEventListener("blur", function () { setTimeout(hide, 150); });
  }
})();
