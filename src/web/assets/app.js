// Strata dashboard, browser side. Plain JavaScript served as is (no build step), loaded after htmx.
// Two jobs:
// 1. Every htmx request carries the session's CSRF token (from <meta name="csrf-token">).
// 2. Live updates: one EventSource per page on /ui/live (web/live-view.ts), started from the sequence
//    the page was rendered at (#view[data-since]), so an event committed between the render and the
//    subscription is not lost; the browser resumes with Last-Event-ID after a drop. The server follows
//    the events for the page (#view[data-topics], [data-run], the needs-you badge's
//    [data-badge-topics]) and pushes the view's HTML (`view`) and the badge's count (`badge`) when
//    they change, a burst as one; the page swaps them in. `expired` sends the page to the login. An
//    indicator says live / reconnecting / stale.
/* global document, window, CustomEvent, EventSource, URLSearchParams, setTimeout, clearTimeout */
(function () {
  'use strict';
  var STALE_AFTER_MS = 10000;

  document.addEventListener('htmx:configRequest', function (e) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) e.detail.headers['X-CSRF-Token'] = meta.getAttribute('content');
  });

  // Confirmations come from data-confirm attributes (htmx's hx-confirm needs no eval either, but
  // plain forms submit without htmx).
  document.addEventListener('submit', function (e) {
    var form = e.target;
    var question = form && form.getAttribute && form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) e.preventDefault();
  });

  // A live re-render must not drop what the operator ticked (the bulk approve boxes): the boxes
  // marked data-keep that were checked just before a swap of #view are checked again after it.
  var keyOf = function (box) {
    return box.name + '=' + box.value;
  };
  function swapView(view, html) {
    var kept = Array.prototype.map.call(view.querySelectorAll('input[data-keep]:checked'), keyOf);
    // htmx's swap: its attributes in the new HTML are processed, focus on an element with an id kept.
    window.htmx.swap(view, html, { swapStyle: 'innerHTML' });
    view.querySelectorAll('input[data-keep]').forEach(function (box) {
      if (kept.indexOf(keyOf(box)) >= 0) box.checked = true;
    });
    // A pushed render is shared by the tenant's pages, so its forms come without this session's
    // CSRF token: fill it in from the page's meta tag.
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (!meta) return;
    view.querySelectorAll('input[name="_csrf"]').forEach(function (field) {
      if (!field.value) field.value = meta.getAttribute('content');
    });
  }

  function start() {
    var view = document.getElementById('view');
    var indicator = document.getElementById('live');
    if (!view || !view.hasAttribute('data-since') || typeof EventSource === 'undefined') return;
    var badge = document.getElementById('needs-you-badge');
    var query = new URLSearchParams({
      view: window.location.pathname + window.location.search,
      topics: view.getAttribute('data-topics') || '',
      badge: badge ? view.getAttribute('data-badge-topics') || '' : '',
      since: view.getAttribute('data-since'),
    });
    if (view.getAttribute('data-run')) query.set('run', view.getAttribute('data-run'));
    var source = null;
    var staleTimer = null;
    var retryMs = 1000;

    function show(state, text) {
      if (!indicator) return;
      indicator.setAttribute('data-state', state);
      indicator.textContent = text;
    }

    function connect() {
      // After a drop the browser reconnects by itself, sending the last id seen (Last-Event-ID).
      source = new EventSource('/ui/live?' + query.toString());
      source.onopen = function () {
        retryMs = 1000;
        clearTimeout(staleTimer);
        show('live', 'live');
      };
      source.addEventListener('view', function (e) {
        swapView(view, e.data);
        document.dispatchEvent(
          new CustomEvent('strata:refreshed', { detail: { seq: Number(e.lastEventId) } }),
        );
      });
      source.addEventListener('badge', function (e) {
        var body = JSON.parse(e.data);
        if (!badge || typeof body.count !== 'number') return;
        badge.textContent = String(body.count);
        badge.setAttribute('aria-label', body.count + ' items');
        document.dispatchEvent(new CustomEvent('strata:badge', { detail: { count: body.count } }));
      });
      source.addEventListener('expired', function (e) {
        source.close();
        var location = JSON.parse(e.data).location;
        if (typeof location === 'string' && location.charAt(0) === '/' && location.charAt(1) !== '/')
          window.location.assign(location);
      });
      source.onerror = function () {
        show('reconnecting', 'reconnecting');
        clearTimeout(staleTimer);
        staleTimer = setTimeout(function () {
          show('stale', 'stale: not updating');
        }, STALE_AFTER_MS);
        if (source.readyState === EventSource.CLOSED) {
          // The server refused the stream (e.g. it restarted mid-request): try again later, from
          // the seq the page was rendered at (what changed since then is rendered again).
          setTimeout(connect, retryMs);
          retryMs = Math.min(retryMs * 2, 30000);
        }
      };
    }
    connect();
    window.addEventListener('pagehide', function () {
      if (source) source.close();
    });
  }

  // A running run's model output (run detail): text deltas appended as they stream; `reset` (a new
  // attempt) clears them; `done` ends the stream.
  function streamOutput() {
    var out = document.getElementById('run-output');
    if (!out || !out.getAttribute('data-stream') || typeof EventSource === 'undefined') return;
    var source = new EventSource(out.getAttribute('data-stream'));
    source.addEventListener('delta', function (e) {
      out.textContent += JSON.parse(e.data).text;
    });
    source.addEventListener('reset', function () {
      out.textContent = '';
    });
    source.addEventListener('done', function () {
      source.close();
    });
  }

  function init() {
    start();
    streamOutput();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
