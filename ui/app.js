/* lmcgw inspector page: where a shipment stands and what is missing before release.
 *
 * Plain JavaScript, no framework, no build step, nothing from the network but the
 * gateway's own read API (/v1/shipments, /v1/messages). Served under a
 * Content-Security-Policy of default-src 'self': no inline script or style, no
 * eval, and no HTML built from strings (every text goes in through textContent,
 * so nothing from a message can become markup).
 *
 * Routes (hash, so every view is a link an inspector can share):
 *   #/                         list of shipments, no filter
 *   #/shipments?country=TH&status=IN_PROGRESS&since=…&perishable=true
 *   #/shipments/<UCR>          one shipment
 *   #/messages/<id>            one message's timeline
 *
 * Every element a test looks for carries a stable data-test attribute. */
'use strict';

(function () {
  /* ---- every text of the page, for translation ------------------------- */
  const STRINGS = {
    title: 'lmcgw — shipments',
    brandSub: 'Shipment status',
    ucrLabel: 'Shipment UCR',
    ucrGo: 'Open',
    loading: 'Loading…',
    listTitle: 'Shipments',
    listIntro: 'Newest activity first. Open a shipment to see its documents and what is still missing.',
    filters: 'Filters',
    filterCountry: 'Country (origin or destination)',
    filterStatus: 'Status',
    filterSince: 'Updated since',
    filterPerishable: 'Perishable goods',
    any: 'Any',
    yes: 'Yes',
    no: 'No',
    apply: 'Show',
    clear: 'Clear filters',
    more: 'More',
    loadingMore: 'Loading more…',
    listEmpty: 'No shipment matches these filters.',
    listCount: '{n} shipment(s) shown',
    listCountMore: '{n} shipment(s) shown, more available',
    colUcr: 'UCR',
    colRoute: 'Route',
    colStatus: 'Status',
    colPerishable: 'Perishable',
    colDocuments: 'Documents',
    colMissing: 'Missing',
    colLastUpdate: 'Last update',
    colType: 'Document',
    colNumber: 'Number',
    colValid: 'Valid',
    colSigned: 'Signed',
    colTime: 'Time',
    colStage: 'Stage',
    colGateway: 'Gateway',
    colDetail: 'Detail',
    shipmentTitle: 'Shipment {ucr}',
    perishable: 'Perishable',
    notPerishable: 'Not perishable',
    route: 'Route',
    elapsed: 'Since first document',
    firstSeen: 'First document',
    lastUpdate: 'Last update',
    reload: 'Reload',
    backToList: 'All shipments',
    missingTitle: 'Missing before release',
    missingNone: 'No required document is missing.',
    unusableTitle: 'Present but not yet usable',
    unusableRejected: 'rejected: send a corrected document',
    unusableInvalid: 'not valid',
    unusableUnsigned: 'not signed yet',
    missingNumber: 'No. {number}',
    requiredTitle: 'Required documents',
    requiredNone: 'Only the declaration is required.',
    documentsTitle: 'Documents',
    documentsNone: 'No document has arrived yet.',
    timelineTitle: 'Timeline',
    timelineOrder: 'Newest first.',
    timelineNone: 'No event yet.',
    messageTitle: 'Message {id}',
    messageShipment: 'Shipment',
    messageDocument: 'Document',
    messageFormat: 'Format',
    messageFormatFrom: '{format} (received as {source})',
    eventsTitle: 'What happened to this message',
    problemsTitle: 'Problems',
    signatureTitle: 'Signature',
    signatureNone: 'No signature checked at this stage.',
    sigStatus: 'Status',
    sigSigner: 'Signer',
    sigCountry: 'Country',
    sigAlgorithm: 'Algorithm',
    sigChain: 'Chain',
    instance: 'instance {instance}',
    atLine: 'line {line}',
    unknown: '—',
    timesNote: 'Times are local ({zone}).',
    errUnauthenticatedTitle: 'Not signed in',
    errUnauthenticated: 'The gateway did not receive a client certificate from this browser. ' +
      'Install your inspector certificate in the browser, then reload the page.',
    errForbiddenTitle: 'Not allowed',
    errForbidden: 'Your certificate does not give access to this. ' +
      'Inspectors see the shipments to or from their own country.',
    errNotFoundTitle: 'Not found',
    errNotFoundShipment: 'No shipment with UCR “{ucr}” is known to this gateway. Check the UCR.',
    errNotFoundMessage: 'No message with id “{id}” is known to this gateway.',
    errNotFoundPage: 'There is no page at this address.',
    errBadRequestTitle: 'The gateway refused the request',
    errNetworkTitle: 'Cannot reach the gateway',
    errNetwork: 'The page could not talk to the gateway ({detail}). Check the connection and try again.',
    errServerTitle: 'The gateway answered {status}',
    errServer: 'Something went wrong on the gateway. Try again in a moment.',
    errBadAnswerTitle: 'Unexpected answer',
    errBadAnswer: 'The gateway sent an answer this page does not understand.',
    errBadLink: 'This link is malformed.',
    retry: 'Try again',
    announceLoaded: '{what} loaded',
    docTypes: {
      declaration: 'Customs declaration',
      response: 'Customs response',
      sps_certificate: 'SPS certificate (phytosanitary / sanitary)',
      sps_acknowledgement: 'SPS acknowledgement',
      certificate_of_origin: 'Certificate of origin',
      phytosanitary_certificate: 'Phytosanitary certificate',
      sanitary_certificate: 'Sanitary certificate',
      veterinary_certificate: 'Veterinary certificate',
    },
    statuses: {
      IN_PROGRESS: 'In progress',
      READY_FOR_CLEARANCE: 'Ready for clearance',
      REJECTED: 'Rejected',
      ACCEPTED: 'Accepted by customs',
      INSPECTION_REQUIRED: 'Inspection required',
      RELEASED: 'Released',
      REFUSED: 'Refused',
      RECEIVED: 'Received',
      VALIDATED: 'Validated',
      SIGNED: 'Signed',
      ROUTED: 'Routed',
      DELIVERED: 'Delivered',
      DELIVERY_FAILED: 'Delivery failed',
      ACKNOWLEDGED: 'Acknowledged',
    },
    signatureStatuses: {
      valid: 'Valid',
      invalid: 'Invalid',
      untrusted: 'Untrusted',
      revoked: 'Revoked',
      absent: 'Not signed',
    },
    severities: { error: 'Error', warning: 'Warning', info: 'Note' },
    countries: { CN: 'China', KH: 'Cambodia', LA: 'Laos', MM: 'Myanmar', TH: 'Thailand', VN: 'Viet Nam' },
  };

  /* Colour family of a status or stage; the badge always carries the words too. */
  const TONE = {
    READY_FOR_CLEARANCE: 'ok', ACCEPTED: 'ok', VALIDATED: 'ok', SIGNED: 'ok', DELIVERED: 'ok', ACKNOWLEDGED: 'ok',
    IN_PROGRESS: 'wait', INSPECTION_REQUIRED: 'wait', RECEIVED: 'wait', ROUTED: 'wait',
    REJECTED: 'bad', REFUSED: 'bad', DELIVERY_FAILED: 'bad',
    RELEASED: 'done',
  };
  const SHIPMENT_STATUSES = ['IN_PROGRESS', 'READY_FOR_CLEARANCE', 'REJECTED', 'ACCEPTED', 'INSPECTION_REQUIRED',
    'RELEASED', 'REFUSED'];
  const COUNTRIES = ['CN', 'KH', 'LA', 'MM', 'TH', 'VN'];
  const PAGE_SIZE = 50;

  function t(key, args) {
    let s = STRINGS[key];
    if (s === undefined) s = key;
    if (args) s = s.replace(/\{(\w+)\}/g, (m, k) => (args[k] === undefined ? m : String(args[k])));
    return s;
  }
  /* A template with one {name} slot filled by a node: [text before, node, text after]. */
  function tNode(key, name, node) {
    const parts = t(key).split('{' + name + '}');
    return [parts[0], node, parts.slice(1).join('')];
  }
  function label(map, code) {
    if (code === null || code === undefined || code === '') return t('unknown');
    const v = STRINGS[map][code];
    return v !== undefined ? v : String(code).replace(/_/g, ' ').toLowerCase();
  }

  /* ---- DOM helpers -------------------------------------------------------- */
  /* h('p', {class: 'x', 'data-test': 'y'}, 'text', child…): attributes and text only. */
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    append(el, kids);
    return el;
  }
  function append(el, kids) {
    for (const k of kids) {
      if (k === null || k === undefined || k === false) continue;
      if (Array.isArray(k)) append(el, k);
      else el.appendChild(k instanceof Node ? k : document.createTextNode(String(k)));
    }
  }
  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
  }

  /* ---- formatting ----------------------------------------------------------- */
  const pad = (n) => String(n).padStart(2, '0');
  function zoneName() {
    const off = -new Date().getTimezoneOffset();
    const sign = off < 0 ? '−' : '+';
    const a = Math.abs(off);
    return 'UTC' + sign + pad(Math.floor(a / 60)) + ':' + pad(a % 60);
  }
  function fmtTime(iso) {
    const d = new Date(iso);
    if (!iso || isNaN(d.getTime())) return iso ? String(iso) : t('unknown');
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }
  function timeEl(iso, attrs) {
    return h('time', Object.assign({ datetime: iso || null, title: iso || null }, attrs || {}), fmtTime(iso));
  }
  function fmtDuration(sec) {
    sec = Math.max(0, Math.floor(sec));
    const d = Math.floor(sec / 86400), hr = Math.floor((sec % 86400) / 3600);
    const m = Math.floor((sec % 3600) / 60), s = sec % 60;
    if (d > 0) return d + ' d ' + hr + ' h ' + pad(m) + ' min';
    if (hr > 0) return hr + ' h ' + pad(m) + ' min ' + pad(s) + ' s';
    if (m > 0) return m + ' min ' + pad(s) + ' s';
    return s + ' s';
  }
  function country(code) {
    if (!code) return t('unknown');
    const name = STRINGS.countries[code];
    return name ? code + ' ' + name : code;
  }
  function routeText(o, d) {
    return country(o) + ' → ' + country(d);
  }
  function badge(status, test) {
    return h('span', { class: 'badge tone-' + (TONE[status] || 'plain'), 'data-test': test, 'data-status': status || '' },
      label('statuses', status));
  }
  function yesNo(v, test) {
    if (v === true) return h('span', { class: 'yn yes', 'data-test': test }, t('yes'));
    if (v === false) return h('span', { class: 'yn no', 'data-test': test }, t('no'));
    return h('span', { class: 'yn', 'data-test': test }, t('unknown'));
  }
  /* Newest first: an inspector opens a shipment to learn what happened last; the
   * first events (received, validated) matter less once the badge sums them up.
   * Sorted here rather than trusted from the answer; equal times keep answer order. */
  function newestFirst(list) {
    return list.map((e, i) => [Date.parse(e.at), i, e])
      .sort((a, b) => ((b[0] || 0) - (a[0] || 0)) || (b[1] - a[1]))
      .map((x) => x[2]);
  }
  const shipmentHref = (ucr) => '#/shipments/' + encodeURIComponent(ucr);
  const messageHref = (id) => '#/messages/' + encodeURIComponent(id);

  /* ---- API ------------------------------------------------------------------ */
  class ApiError extends Error {
    constructor(status, errors, detail) {
      super(detail || 'HTTP ' + status);
      this.status = status; /* 0: no answer at all */
      this.errors = errors || [];
    }
  }
  async function getJSON(url) {
    let resp;
    try {
      resp = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, [], e && e.message ? e.message : String(e));
    }
    let body = null;
    try {
      body = await resp.json();
    } catch (e) {
      body = null;
    }
    if (!resp.ok) {
      const errs = body && Array.isArray(body.errors) ? body.errors : [];
      throw new ApiError(resp.status, errs);
    }
    if (!body || typeof body !== 'object') throw new ApiError(resp.status, [], 'bad answer');
    return body;
  }

  /* ---- page state ------------------------------------------------------------- */
  const view = () => document.getElementById('view');
  let generation = 0; /* a newer route makes older answers stale */
  let ticker = null;
  let firstRender = true;

  function stopTicker() {
    if (ticker !== null) clearInterval(ticker);
    ticker = null;
  }
  function show(...nodes) {
    const v = view();
    clear(v);
    append(v, nodes);
    v.setAttribute('aria-busy', 'false');
    /* Move focus to the new heading so keyboard and screen-reader users land on it,
     * but not on first load, where the UCR box should stay reachable as usual. */
    const h1 = v.querySelector('h1');
    if (h1) {
      h1.setAttribute('tabindex', '-1');
      if (!firstRender) h1.focus();
      announce(t('announceLoaded', { what: h1.textContent }));
    }
    firstRender = false;
  }
  function announce(text) {
    const a = document.getElementById('announce');
    if (a) a.textContent = text;
  }
  function loading() {
    const v = view();
    v.setAttribute('aria-busy', 'true');
    clear(v);
    v.appendChild(h('p', { class: 'loading', 'data-test': 'loading' }, t('loading')));
  }

  function errorBox(err, ctx) {
    let title, text;
    const st = err instanceof ApiError ? err.status : -1;
    if (st === 401) {
      title = t('errUnauthenticatedTitle'); text = t('errUnauthenticated');
    } else if (st === 403) {
      title = t('errForbiddenTitle'); text = t('errForbidden');
    } else if (st === 404) {
      title = t('errNotFoundTitle');
      text = ctx.ucr !== undefined ? t('errNotFoundShipment', { ucr: ctx.ucr })
        : ctx.id !== undefined ? t('errNotFoundMessage', { id: ctx.id }) : t('errNotFoundPage');
    } else if (st === 0) {
      title = t('errNetworkTitle'); text = t('errNetwork', { detail: err.message });
    } else if (st >= 400 && st < 500) {
      title = t('errBadRequestTitle'); text = '';
    } else if (st >= 500) {
      title = t('errServerTitle', { status: st }); text = t('errServer');
    } else if (st > 0) {
      title = t('errBadAnswerTitle'); text = t('errBadAnswer');
    } else {
      title = t('errBadAnswerTitle'); text = ctx.badLink ? t('errBadLink') : t('errBadAnswer');
    }
    const details = (err.errors || []).filter((e) => e && (e.message || e.code));
    return h('section', { class: 'error', role: 'alert', 'data-test': 'error', 'data-status': String(st) },
      h('h1', { 'data-test': 'error-title' }, title),
      text ? h('p', { 'data-test': 'error-text' }, text) : null,
      details.length ? h('ul', { class: 'error-details' }, details.map((e) =>
        h('li', { 'data-test': 'error-detail', 'data-code': e.code || '' },
          e.code ? h('code', null, e.code) : null, e.code && e.message ? ': ' : '', e.message || ''))) : null,
      h('p', null,
        st === 0 || st >= 500 ? h('button', { type: 'button', 'data-test': 'retry', on: { click: route } }, t('retry')) : null,
        ' ', h('a', { href: '#/', 'data-test': 'back-to-list' }, t('backToList'))));
  }

  /* ---- list view ----------------------------------------------------------------- */
  function sinceToLocalInput(iso) {
    const d = new Date(iso);
    if (!iso || isNaN(d.getTime())) return '';
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' +
      pad(d.getHours()) + ':' + pad(d.getMinutes());
  }
  function select(id, name, test, options, value) {
    return h('select', { id, name, 'data-test': test },
      options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
  }
  function filtersForm(params) {
    const statusOpts = [['', t('any')]].concat(SHIPMENT_STATUSES.map((s) => [s, label('statuses', s)]));
    const countryOpts = [['', t('any')]].concat(COUNTRIES.map((c) => [c, country(c)]));
    const perOpts = [['', t('any')], ['true', t('yes')], ['false', t('no')]];
    const form = h('form', { class: 'filters', 'data-test': 'filters', 'aria-label': t('filters') },
      h('div', { class: 'field' }, h('label', { for: 'f-country' }, t('filterCountry')),
        select('f-country', 'country', 'filter-country', countryOpts, params.get('country') || '')),
      h('div', { class: 'field' }, h('label', { for: 'f-status' }, t('filterStatus')),
        select('f-status', 'status', 'filter-status', statusOpts, params.get('status') || '')),
      h('div', { class: 'field' }, h('label', { for: 'f-since' }, t('filterSince')),
        h('input', { id: 'f-since', name: 'since', type: 'datetime-local', 'data-test': 'filter-since',
          value: sinceToLocalInput(params.get('since')) })),
      h('div', { class: 'field' }, h('label', { for: 'f-perishable' }, t('filterPerishable')),
        select('f-perishable', 'perishable', 'filter-perishable', perOpts, params.get('perishable') || '')),
      h('div', { class: 'field actions' },
        h('button', { type: 'submit', 'data-test': 'filter-apply' }, t('apply')),
        h('a', { href: '#/shipments', 'data-test': 'filter-clear' }, t('clear'))));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams();
      for (const name of ['country', 'status', 'perishable']) {
        const v = form.elements[name].value;
        if (v) q.set(name, v);
      }
      const since = form.elements.since.value;
      if (since) {
        const d = new Date(since); /* datetime-local is local time; the API wants RFC 3339 */
        if (!isNaN(d.getTime())) q.set('since', d.toISOString());
      }
      const target = '#/shipments' + (q.toString() ? '?' + q.toString() : '');
      if (location.hash === target) route();
      else location.hash = target;
    });
    return form;
  }
  function shipmentRow(s) {
    return h('tr', { 'data-test': 'shipment-row', 'data-ucr': s.ucr },
      h('th', { scope: 'row', 'data-label': t('colUcr') },
        h('a', { href: shipmentHref(s.ucr), 'data-test': 'shipment-link' }, s.ucr)),
      h('td', { 'data-label': t('colRoute') }, routeText(s.origin, s.destination)),
      h('td', { 'data-label': t('colStatus') }, badge(s.status, 'row-status')),
      h('td', { 'data-label': t('colPerishable') },
        s.perishable ? h('span', { class: 'perishable', 'data-test': 'row-perishable' }, t('perishable')) : t('no')),
      h('td', { 'data-label': t('colDocuments'), class: 'num' }, String(s.documents ?? t('unknown'))),
      h('td', { 'data-label': t('colMissing'), class: 'num' + (s.missing > 0 ? ' has-missing' : ''),
        'data-test': 'row-missing' }, String(s.missing ?? t('unknown'))),
      h('td', { 'data-label': t('colLastUpdate') }, timeEl(s.last_update)));
  }
  async function listView(params, gen) {
    const q = new URLSearchParams();
    for (const name of ['country', 'status', 'since', 'perishable']) if (params.get(name)) q.set(name, params.get(name));
    q.set('limit', params.get('limit') || String(PAGE_SIZE));
    const form = filtersForm(params);
    let body;
    try {
      body = await getJSON('/v1/shipments?' + q.toString());
    } catch (e) {
      if (gen === generation) show(h('h1', { class: 'sr-only' }, t('listTitle')), form, errorBox(e, {}));
      return;
    }
    if (gen !== generation) return;
    const rows = h('tbody', { 'data-test': 'shipment-rows' });
    const count = h('p', { class: 'count', 'data-test': 'list-count', role: 'status' });
    const more = h('button', { type: 'button', class: 'more', 'data-test': 'more' }, t('more'));
    let next = null, n = 0;
    function add(page) {
      const list = Array.isArray(page.shipments) ? page.shipments : [];
      for (const s of list) rows.appendChild(shipmentRow(s));
      n += list.length;
      next = page.next || null;
      count.textContent = t(next ? 'listCountMore' : 'listCount', { n });
      more.hidden = !next;
      more.disabled = false;
      more.textContent = t('more');
    }
    more.addEventListener('click', async () => {
      if (!next) return;
      const q2 = new URLSearchParams(q);
      q2.set('cursor', next);
      more.disabled = true;
      more.textContent = t('loadingMore');
      const g = generation;
      try {
        const page = await getJSON('/v1/shipments?' + q2.toString());
        if (g === generation) add(page);
      } catch (e) {
        if (g !== generation) return;
        more.disabled = false;
        more.textContent = t('more');
        const old = document.querySelector('[data-test="error"]');
        if (old) old.remove();
        more.insertAdjacentElement('afterend', errorBox(e, {}));
      }
    });
    add(body);
    const table = h('table', { class: 'data list', 'data-test': 'shipment-list' },
      h('caption', { class: 'sr-only' }, t('listTitle')),
      h('thead', null, h('tr', null, ['colUcr', 'colRoute', 'colStatus', 'colPerishable', 'colDocuments', 'colMissing',
        'colLastUpdate'].map((k) => h('th', { scope: 'col' }, t(k))))),
      rows);
    show(h('h1', null, t('listTitle')), h('p', { class: 'intro' }, t('listIntro')), form,
      n ? table : h('p', { class: 'empty', 'data-test': 'list-empty' }, t('listEmpty')),
      count, more, h('p', { class: 'note' }, t('timesNote', { zone: zoneName() })));
  }

  /* ---- shipment view ------------------------------------------------------------- */
  /* A document that arrived but cannot count yet (rejected, not validated, not
   * signed) holds a release up just as much as an absent one, so it is listed
   * here too, unless the answer already names it as missing. */
  function unusableDocs(s, missing) {
    const docs = Array.isArray(s.documents) ? s.documents : [];
    return docs.filter((d) => (d.valid === false || d.signed === false) &&
      !missing.some((m) => m.type === d.type && (!m.number || m.number === d.number)));
  }
  function missingSection(s) {
    const missing = Array.isArray(s.missing) ? s.missing : [];
    const unusable = unusableDocs(s, missing);
    const body = missing.length
      ? h('ul', { class: 'missing-list', 'data-test': 'missing-list' }, missing.map((m) =>
        h('li', { 'data-test': 'missing-item', 'data-type': m.type || '' },
          h('strong', { class: 'missing-type' }, label('docTypes', m.type)),
          m.number ? h('span', { class: 'missing-number', 'data-test': 'missing-number' },
            ' ', t('missingNumber', { number: m.number })) : null,
          m.why ? h('span', { class: 'why', 'data-test': 'missing-why' }, m.why) : null)))
      : h('p', { 'data-test': 'missing-none' }, t('missingNone'));
    const more = unusable.length ? [h('h3', null, t('unusableTitle')),
      h('ul', { class: 'missing-list', 'data-test': 'unusable-list' }, unusable.map((d) =>
        h('li', { 'data-test': 'unusable-item', 'data-type': d.type || '' },
          h('strong', null, label('docTypes', d.type)), d.number ? ' ' + d.number : '',
          h('span', { class: 'why' }, d.status === 'REJECTED' ? t('unusableRejected')
            : d.valid === false ? t('unusableInvalid') : t('unusableUnsigned')))))] : [];
    const bad = missing.length || unusable.length;
    return h('section', { class: 'missing' + (bad ? ' has-missing' : ' none-missing'),
      'aria-labelledby': 'missing-h', 'data-test': 'missing' },
    h('h2', { id: 'missing-h' }, t('missingTitle'),
      missing.length ? h('span', { class: 'count-pill', 'data-test': 'missing-count' }, String(missing.length)) : null),
    body, more);
  }
  function requiredSection(s) {
    const req = Array.isArray(s.required) ? s.required : [];
    return h('section', { class: 'required', 'aria-labelledby': 'required-h' },
      h('h2', { id: 'required-h' }, t('requiredTitle')),
      req.length ? h('ul', { 'data-test': 'required-list' }, req.map((r) =>
        h('li', { 'data-test': 'required-item', 'data-type': r.type || '' },
          h('strong', null, label('docTypes', r.type)), r.why ? h('span', { class: 'why' }, r.why) : null)))
        : h('p', { 'data-test': 'required-none' }, t('requiredNone')));
  }
  function documentsSection(s) {
    const docs = Array.isArray(s.documents) ? s.documents : [];
    const heads = ['colType', 'colNumber', 'colStatus', 'colValid', 'colSigned', 'colTime'];
    return h('section', { 'aria-labelledby': 'documents-h' },
      h('h2', { id: 'documents-h' }, t('documentsTitle')),
      docs.length ? h('table', { class: 'data', 'data-test': 'documents' },
        h('thead', null, h('tr', null, heads.map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', null, docs.map((d) => h('tr', { 'data-test': 'document-row', 'data-type': d.type || '' },
          h('th', { scope: 'row', 'data-label': t('colType'), 'data-test': 'document-type' }, label('docTypes', d.type)),
          h('td', { 'data-label': t('colNumber'), 'data-test': 'document-number' },
            d.message_id ? h('a', { href: messageHref(d.message_id), 'data-test': 'document-link' },
              d.number || t('unknown')) : (d.number || t('unknown'))),
          h('td', { 'data-label': t('colStatus') }, badge(d.status, 'document-status')),
          h('td', { 'data-label': t('colValid') }, yesNo(d.valid, 'document-valid')),
          h('td', { 'data-label': t('colSigned') }, yesNo(d.signed, 'document-signed')),
          h('td', { 'data-label': t('colTime'), 'data-test': 'document-time' }, timeEl(d.at))))))
        : h('p', { 'data-test': 'documents-none' }, t('documentsNone')));
  }
  function timelineSection(s) {
    const events = newestFirst(Array.isArray(s.timeline) ? s.timeline : []);
    const heads = ['colTime', 'colStage', 'colType', 'colGateway', 'colDetail'];
    return h('section', { 'aria-labelledby': 'timeline-h' },
      h('h2', { id: 'timeline-h' }, t('timelineTitle')),
      h('p', { class: 'note' }, t('timelineOrder'), ' ', t('timesNote', { zone: zoneName() })),
      events.length ? h('table', { class: 'data', 'data-test': 'timeline' },
        h('thead', null, h('tr', null, heads.map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', null, events.map((e) => h('tr', { 'data-test': 'timeline-row', 'data-stage': e.stage || '' },
          h('td', { 'data-label': t('colTime') }, timeEl(e.at)),
          h('td', { 'data-label': t('colStage') }, badge(e.stage, 'timeline-stage')),
          h('td', { 'data-label': t('colType') }, e.message_id
            ? h('a', { href: messageHref(e.message_id) }, label('docTypes', e.document_type))
            : label('docTypes', e.document_type)),
          h('td', { 'data-label': t('colGateway') }, e.gateway || t('unknown')),
          h('td', { 'data-label': t('colDetail'), class: 'detail' }, e.detail || '')))))
        : h('p', { 'data-test': 'timeline-none' }, t('timelineNone')));
  }
  async function shipmentView(ucr, gen) {
    let s;
    try {
      s = await getJSON('/v1/shipments/' + encodeURIComponent(ucr));
    } catch (e) {
      if (gen === generation) show(errorBox(e, { ucr }));
      return;
    }
    if (gen !== generation) return;
    const loadedAt = Date.now();
    const base = Number(s.elapsed_s);
    const elapsed = h('time', { 'data-test': 'elapsed', role: 'timer', 'data-elapsed-s': String(base) });
    function tick() {
      if (!isFinite(base)) {
        elapsed.textContent = t('unknown');
        return;
      }
      const now = base + (Date.now() - loadedAt) / 1000;
      elapsed.textContent = fmtDuration(now);
      elapsed.setAttribute('datetime', 'PT' + Math.floor(now) + 'S');
    }
    tick();
    stopTicker();
    if (isFinite(base)) ticker = setInterval(tick, 1000);
    const status = s.status || '';
    const head = h('section', { class: 'summary tone-' + (TONE[status] || 'plain'), 'data-test': 'shipment' },
      h('h1', null, tNode('shipmentTitle', 'ucr', h('span', { class: 'ucr', 'data-test': 'shipment-ucr' }, s.ucr || ucr))),
      h('p', { class: 'badges' }, badge(status, 'shipment-status'), ' ',
        s.perishable ? h('span', { class: 'badge perishable', 'data-test': 'perishable' }, t('perishable'))
          : h('span', { class: 'badge tone-plain', 'data-test': 'not-perishable' }, t('notPerishable'))),
      h('dl', { class: 'facts' },
        h('div', null, h('dt', null, t('route')), h('dd', { 'data-test': 'route' }, routeText(s.origin, s.destination))),
        h('div', null, h('dt', null, t('elapsed')), h('dd', null, elapsed)),
        h('div', null, h('dt', null, t('firstSeen')), h('dd', { 'data-test': 'first-seen' }, timeEl(s.first_seen))),
        h('div', null, h('dt', null, t('lastUpdate')), h('dd', { 'data-test': 'last-update' }, timeEl(s.last_update)))),
      h('p', { class: 'links' },
        h('button', { type: 'button', 'data-test': 'reload', on: { click: route } }, t('reload')), ' ',
        h('a', { href: '#/', 'data-test': 'back-to-list' }, t('backToList'))));
    show(head, missingSection(s), documentsSection(s), requiredSection(s), timelineSection(s));
  }

  /* ---- message view ------------------------------------------------------------- */
  function problemsList(problems) {
    if (!Array.isArray(problems) || !problems.length) return null;
    return h('div', { class: 'problems' }, h('h3', null, t('problemsTitle')),
      h('ul', null, problems.map((p) => h('li', { 'data-test': 'problem', class: 'sev-' + (p.severity || 'error') },
        h('span', { class: 'sev' }, label('severities', p.severity || 'error')), ' ',
        p.code ? h('code', { 'data-test': 'problem-code' }, p.code) : null, ' ',
        p.path ? h('code', { class: 'path' }, p.path) : null,
        p.line ? ' (' + t('atLine', { line: p.line }) + ')' : null,
        p.message ? h('span', { class: 'why' }, p.message) : null))));
  }
  function signatureBlock(sig) {
    if (!sig || typeof sig !== 'object') return null;
    const chain = Array.isArray(sig.chain) ? sig.chain : [];
    const tone = sig.status === 'valid' ? 'ok' : 'bad';
    return h('div', { class: 'signature', 'data-test': 'signature' }, h('h3', null, t('signatureTitle')),
      h('dl', { class: 'facts' },
        h('div', null, h('dt', null, t('sigStatus')), h('dd', null,
          h('span', { class: 'badge tone-' + tone, 'data-test': 'signature-status', 'data-status': sig.status || '' },
            label('signatureStatuses', sig.status)))),
        sig.signer ? h('div', null, h('dt', null, t('sigSigner')), h('dd', { 'data-test': 'signature-signer' }, sig.signer)) : null,
        sig.country ? h('div', null, h('dt', null, t('sigCountry')), h('dd', null, country(sig.country))) : null,
        sig.algorithm ? h('div', null, h('dt', null, t('sigAlgorithm')), h('dd', null, sig.algorithm)) : null,
        chain.length ? h('div', null, h('dt', null, t('sigChain')),
          h('dd', null, h('ol', { class: 'chain', 'data-test': 'signature-chain' }, chain.map((c) => h('li', null, c))))) : null));
  }
  async function messageView(id, gen) {
    let m;
    try {
      m = await getJSON('/v1/messages/' + encodeURIComponent(id));
    } catch (e) {
      if (gen === generation) show(errorBox(e, { id }));
      return;
    }
    if (gen !== generation) return;
    const events = newestFirst(Array.isArray(m.events) ? m.events : []);
    const fmt = m.format ? (m.source_format && m.source_format !== m.format
      ? t('messageFormatFrom', { format: m.format, source: m.source_format }) : m.format) : t('unknown');
    show(
      h('section', { class: 'summary tone-' + (TONE[m.status] || 'plain'), 'data-test': 'message' },
        h('h1', null, tNode('messageTitle', 'id', h('span', { class: 'ucr', 'data-test': 'message-id' }, m.id || id))),
        h('p', { class: 'badges' }, badge(m.status, 'message-status')),
        h('dl', { class: 'facts' },
          h('div', null, h('dt', null, t('messageShipment')), h('dd', null, m.ucr
            ? h('a', { href: shipmentHref(m.ucr), 'data-test': 'message-ucr' }, m.ucr) : t('unknown'))),
          h('div', null, h('dt', null, t('messageDocument')), h('dd', { 'data-test': 'message-document' },
            label('docTypes', m.document_type), m.document_number ? ' ' + m.document_number : '')),
          h('div', null, h('dt', null, t('route')), h('dd', null, routeText(m.origin, m.destination))),
          h('div', null, h('dt', null, t('messageFormat')), h('dd', null, fmt)))),
      h('section', { 'aria-labelledby': 'events-h' },
        h('h2', { id: 'events-h' }, t('eventsTitle')),
        h('p', { class: 'note' }, t('timelineOrder'), ' ', t('timesNote', { zone: zoneName() })),
        events.length ? h('ol', { class: 'events', 'data-test': 'timeline' }, events.map((e) =>
          h('li', { class: 'event', 'data-test': 'timeline-row', 'data-stage': e.stage || '' },
            h('p', { class: 'event-head' }, badge(e.stage, 'timeline-stage'), ' ', timeEl(e.at), ' ',
              h('span', { class: 'gw' }, e.gateway ? country(e.gateway) : '',
                e.instance ? ' · ' + t('instance', { instance: e.instance }) : '')),
            e.detail ? h('p', { class: 'detail' }, e.detail) : null,
            problemsList(e.problems), signatureBlock(e.signature))))
          : h('p', { 'data-test': 'timeline-none' }, t('timelineNone'))));
  }

  /* ---- routing -------------------------------------------------------------------- */
  function parseRoute() {
    const raw = location.hash.replace(/^#/, '');
    const qi = raw.indexOf('?');
    const path = qi < 0 ? raw : raw.slice(0, qi);
    const params = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
    const parts = path.split('/').filter(Boolean);
    if (parts.length === 1 && document.getElementById(parts[0])) return { view: 'list', params }; /* #main */
    if (parts.length === 0 || (parts[0] === 'shipments' && parts.length === 1)) return { view: 'list', params };
    if (parts.length === 2 && (parts[0] === 'shipments' || parts[0] === 'messages')) {
      return { view: parts[0] === 'shipments' ? 'shipment' : 'message', arg: decodeURIComponent(parts[1]) };
    }
    return { view: 'none' };
  }
  function route() {
    const gen = ++generation;
    stopTicker();
    let r;
    try {
      r = parseRoute();
    } catch (e) {
      show(errorBox(new Error('bad link'), { badLink: true }));
      return;
    }
    loading();
    if (r.view === 'list') listView(r.params, gen);
    else if (r.view === 'shipment') shipmentView(r.arg, gen);
    else if (r.view === 'message') messageView(r.arg, gen);
    else show(errorBox(new ApiError(404, []), {}));
  }

  function init() {
    document.title = t('title');
    const set = (id, text) => {
      const el = document.getElementById(id);
      if (el) el.textContent = text;
    };
    set('brand-sub', t('brandSub'));
    set('ucr-label', t('ucrLabel'));
    set('ucr-go', t('ucrGo'));
    const form = document.getElementById('ucr-form');
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const ucr = document.getElementById('ucr-input').value.trim();
      if (!ucr) return;
      const target = shipmentHref(ucr);
      if (location.hash === target) route();
      else location.hash = target;
    });
    /* The skip link moves focus without touching the hash, which holds the view. */
    const skip = document.querySelector('.skip');
    if (skip) {
      skip.addEventListener('click', (ev) => {
        ev.preventDefault();
        document.getElementById('main').focus();
      });
    }
    window.addEventListener('hashchange', () => {
      /* A plain in-page anchor (#main) is not a view. */
      const id = location.hash.slice(1);
      if (id && !id.includes('/') && document.getElementById(id)) return;
      route();
    });
    route();
  }
  init();
})();
