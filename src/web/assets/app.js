// Strata dashboard, browser side. Plain JavaScript served as is (no build step), loaded after htmx.
// Two jobs:
// 1. Every htmx request carries the session's CSRF token (from <meta name="csrf-token">).
// 2. Live updates: one EventSource per page on /ui/events, started from the sequence the page was
//    rendered at (#view[data-since]), so an event committed between the render and the subscription
//    is not lost; the browser resumes with Last-Event-ID after a drop. An event on the view's topics
//    (#view[data-topics]; or a `reset`, when the server can no longer replay the gap) re-fetches the
//    view; one on the needs-you badge's topics (#view[data-badge-topics]) re-reads the badge's count
//    (/ui/needs-you/count); a burst of events becomes one re-fetch of each. The stream carries both
//    sets of topics, so a page whose view is static still keeps its badge current. An indicator says
//    live / reconnecting / stale.
/* global document, window, CustomEvent, EventSource, URLSearchParams, setTimeout, clearTimeout */
(function () {
  'use strict';
  var COALESCE_MS = 50;
  var MIN_INTERVAL_MS = 250;
  var TICK_MS = 125;
  var STALE_AFTER_MS = 10000;
  // A count is cheap to show late: at most one re-read a second under a steady stream of events.
  var BADGE_MIN_INTERVAL_MS = 1000;

  function patternsOf(text) {
    return (text || '').split(',').filter(function (p) {
      return p !== '';
    });
  }

  // The bus's matching (kernel/events/bus.ts topicMatches): exact, `*`, or a `prefix:*`.
  function matches(patterns, topic) {
    return patterns.some(function (p) {
      return p === '*' || p === topic || (p.slice(-2) === ':*' && topic.indexOf(p.slice(0, -1)) === 0);
    });
  }

  // Calls `run` COALESCE_MS after the first call of a quiet spell, at most once per `minIntervalMs`,
  // on a shared clock tick (multiples of TICK_MS), so the pages open on one view re-fetch together
  // and the server renders once for all of them (web/fragment-cache.ts).
  function coalesced(run, minIntervalMs) {
    var pending = null;
    var last = 0;
    return function () {
      if (pending !== null) return;
      var now = Date.now();
      var earliest = Math.max(now + COALESCE_MS, last + minIntervalMs);
      pending = setTimeout(
        function () {
          pending = null;
          last = Date.now();
          run();
        },
        Math.ceil(earliest / TICK_MS) * TICK_MS - now,
      );
    };
  }

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
  var kept = null;
  var keyOf = function (box) {
    return box.name + '=' + box.value;
  };
  document.addEventListener('htmx:beforeSwap', function (e) {
    if (!e.detail.target || e.detail.target.id !== 'view') return;
    kept = Array.prototype.map.call(document.querySelectorAll('#view input[data-keep]:checked'), keyOf);
  });
  document.addEventListener('htmx:afterSwap', function (e) {
    if (!kept || !e.detail.target || e.detail.target.id !== 'view') return;
    document.querySelectorAll('#view input[data-keep]').forEach(function (box) {
      if (kept.indexOf(keyOf(box)) >= 0) box.checked = true;
    });
    kept = null;
  });

  function start() {
    var view = document.getElementById('view');
    var indicator = document.getElementById('live');
    if (!view || !view.hasAttribute('data-since') || typeof EventSource === 'undefined') return;
    var viewTopics = patternsOf(view.getAttribute('data-topics'));
    var badge = document.getElementById('needs-you-badge');
    var badgeTopics = badge ? patternsOf(view.getAttribute('data-badge-topics')) : [];
    var topics = viewTopics.indexOf('*') >= 0 ? ['*'] : viewTopics.concat(badgeTopics);
    var runId = view.getAttribute('data-run');
    var lastSeq = Number(view.getAttribute('data-since'));
    var badgeReads = 0;
    var source = null;
    var staleTimer = null;
    var retryMs = 1000;

    function show(state, text) {
      if (!indicator) return;
      indicator.setAttribute('data-state', state);
      indicator.textContent = text;
    }

    function refresh() {
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

    // The count read after the last event seen; an answer overtaken by a later read is dropped.
    function readBadge() {
      var read = ++badgeReads;
      window
        .fetch('/ui/needs-you/count', { headers: { 'X-Strata-Seq': String(lastSeq) } })
        .then(function (res) {
          return res.ok ? res.json() : null;
        })
        .then(function (body) {
          if (read !== badgeReads || !body || typeof body.count !== 'number') return;
          badge.textContent = String(body.count);
          badge.setAttribute('aria-label', body.count + ' items');
          document.dispatchEvent(new CustomEvent('strata:badge', { detail: { count: body.count } }));
        })
        .catch(function () {
          // An expired session answers with the login page: the next view re-fetch says so.
        });
    }

    // Under a steady stream of events, at most one re-render per MIN_INTERVAL_MS, so a busy fleet
    // costs the server a bounded rate.
    var changed = viewTopics.length > 0 ? coalesced(refresh, MIN_INTERVAL_MS) : function () {};
    var badgeChanged = badge ? coalesced(readBadge, BADGE_MIN_INTERVAL_MS) : function () {};

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
      source = new EventSource(
        '/ui/events?topics=' + encodeURIComponent(topics.join(',')) + '&since=' + lastSeq,
      );
      source.onopen = function () {
        retryMs = 1000;
        clearTimeout(staleTimer);
        show('live', 'live');
      };
      source.onmessage = function (e) {
        lastSeq = Number(e.lastEventId) || lastSeq;
        var data = JSON.parse(e.data);
        if (matches(viewTopics, data.topic) && relevant(data)) changed();
        if (matches(badgeTopics, data.topic)) badgeChanged();
      };
      source.addEventListener('reset', function (e) {
        lastSeq = Number(e.lastEventId) || lastSeq;
        changed();
        badgeChanged();
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
