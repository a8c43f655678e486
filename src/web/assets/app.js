// Strata dashboard, browser side. Plain JavaScript served as is (no build step), loaded after htmx.
// Two jobs:
// 1. Every htmx request carries the session's CSRF token (from <meta name="csrf-token">).
// 2. Live updates: one EventSource per page on /ui/events, started from the sequence the page was
//    rendered at (#view[data-since]), so an event committed between the render and the subscription
//    is not lost; the browser resumes with Last-Event-ID after a drop. Any matching event (or a
//    `reset`, when the server can no longer replay the gap) re-fetches the view; a burst of events
//    becomes one re-fetch. An indicator says live / reconnecting / stale.
/* global document, window, CustomEvent, EventSource, URLSearchParams, setTimeout, clearTimeout */
(function () {
  'use strict';
  var COALESCE_MS = 50;
  var MIN_INTERVAL_MS = 250;
  var TICK_MS = 125;
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

  function start() {
    var view = document.getElementById('view');
    var indicator = document.getElementById('live');
    if (!view || !view.hasAttribute('data-since') || typeof EventSource === 'undefined') return;
    var topics = view.getAttribute('data-topics') || '*';
    var runId = view.getAttribute('data-run');
    var lastSeq = Number(view.getAttribute('data-since'));
    var pending = null;
    var lastRefresh = 0;
    var source = null;
    var staleTimer = null;
    var retryMs = 1000;

    function show(state, text) {
      if (!indicator) return;
      indicator.setAttribute('data-state', state);
      indicator.textContent = text;
    }

    function refresh() {
      pending = null;
      lastRefresh = Date.now();
      // The view re-renders from the store: everything up to the event that woke us is in it.
      window.htmx
        .ajax('GET', window.location.pathname + window.location.search, {
          target: '#view',
          select: '#view > *',
          swap: 'innerHTML',
          // The server may answer with a render shared with other pages, made after this event.
          headers: { 'X-Strata-Seq': String(lastSeq) },
        })
        .then(function () {
          document.dispatchEvent(new CustomEvent('strata:refreshed', { detail: { seq: lastSeq } }));
        });
    }

    // The first event of a quiet spell re-renders after COALESCE_MS; under a steady stream of events,
    // at most one re-render per MIN_INTERVAL_MS, so a busy fleet costs the server a bounded rate. And
    // re-renders fall on shared clock ticks (multiples of TICK_MS), so the pages open on one view
    // re-fetch together and the server renders once for all of them (web/fragment-cache.ts).
    function changed() {
      if (pending !== null) return;
      var now = Date.now();
      var earliest = Math.max(now + COALESCE_MS, lastRefresh + MIN_INTERVAL_MS);
      pending = setTimeout(refresh, Math.ceil(earliest / TICK_MS) * TICK_MS - now);
    }

    // A list filtered by workflow only changes for runs of that workflow (a run's never changes).
    var workflow = new URLSearchParams(window.location.search).get('workflow');

    function relevant(data) {
      var p = data.payload || {};
      if (workflow && data.topic && data.topic.indexOf('run:') === 0 && p.workflow && p.workflow !== workflow)
        return false;
      if (!runId) return true;
      return p.id === runId || p.runId === runId || p.rootId === runId || p.parentId === runId;
    }

    function connect() {
      source = new EventSource('/ui/events?topics=' + encodeURIComponent(topics) + '&since=' + lastSeq);
      source.onopen = function () {
        retryMs = 1000;
        clearTimeout(staleTimer);
        show('live', 'live');
      };
      source.onmessage = function (e) {
        lastSeq = Number(e.lastEventId) || lastSeq;
        var data = JSON.parse(e.data);
        if (relevant(data)) changed();
      };
      source.addEventListener('reset', function (e) {
        lastSeq = Number(e.lastEventId) || lastSeq;
        changed();
      });
      source.onerror = function () {
        show('reconnecting', 'reconnecting');
        clearTimeout(staleTimer);
        staleTimer = setTimeout(function () {
          show('stale', 'stale: not updating');
        }, STALE_AFTER_MS);
        if (source.readyState === EventSource.CLOSED) {
          // The server refused the stream (e.g. the session expired): try again later, from lastSeq.
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
