// The support-matrix page: rows built from the embedded matrix on demand, a filter, and the
// certificate panel. Only the rows in view exist in the document (a table of thousands of
// models stays as fast as one of ten); every string goes in through textContent, so record
// data is never parsed as HTML.
(() => {
  'use strict';
  const data = JSON.parse(document.getElementById('matrix-data').textContent);
  const examples = data.examples || [];
  const example = (v) => (typeof v === 'number' ? examples[v] : v);  // interned examples
  const $ = (sel) => document.querySelector(sel);
  const $$ = (sel) => Array.from(document.querySelectorAll(sel));
  const DASH = '\u2014';
  const ABBREVIATIONS = JSON.parse(document.getElementById('matrix-data').dataset.abbreviations || '{}');

  // The stored matrix (reports/matrix.py: compact) keeps cells as rows of one field list, with
  // each distinct value once; cells are objects again here (examples stay indices, see example()).
  const interned = new Set(data.interned);
  data.cells = data.rows.map((row) => {
    const c = {};
    data.fields.forEach((field, i) => {
      const value = row[i];
      if (value && typeof value === 'object' && value.missing === true) return;
      c[field] = interned.has(field) ? data.values[value] : value;
    });
    if (Array.isArray(c.error)) c.error = c.error.map((i) => data.error_lines[i]).join('\n');  // lines stored once
    if (c.reproduce === undefined && data.reproduce_template) c.reproduce = data.reproduce_template.replace('{id}', c.id);
    return c;
  });
  const byId = new Map(data.cells.map((c) => [c.id, c]));

  function el(tag, cls, ...children) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }
  const show = (v) => (v === null || v === undefined || v === '' ? DASH : String(v));
  const fmtNum = (v) => {
    if (typeof v !== 'number') return show(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : String(+v.toPrecision(4));
  };
  const fmtSeconds = (v) => (typeof v === 'number' ? v.toFixed(2) + ' s' : DASH);
  const fmtBytes = (b) => {
    if (typeof b !== 'number') return DASH;
    const units = ['bytes', 'KiB', 'MiB', 'GiB'];
    let n = b, i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return i ? `${n.toFixed(1)} ${units[i]} (${b.toLocaleString('en')} bytes)` : `${b} bytes`;
  };
  const fmtShape = (s) => {
    s = example(s);
    return s && typeof s === 'object' ? Object.entries(s).map(([k, v]) => `${k}=${v}`).join(', ') : DASH;
  };
  const sameShape = (a, b) => !!a && !!b && JSON.stringify(example(a)) === JSON.stringify(example(b));
  const fmtCounts = (counts) => (counts && Object.keys(counts).length
    ? Object.entries(counts).map(([k, v]) => `${k} \u00d7${v}`).join(', ') : DASH);

  // ---- what one cell's tooltip says -----------------------------------------------------------
  function whatRan(c) {
    const parts = [];
    const variants = (c.variants || []).filter((v) => v && typeof v === 'object');
    if (variants.length) {
      parts.push(`${variants.filter((v) => v.status !== 'not run').length} of ${variants.length} models (base + variants)`);
    }
    if (c.examples) parts.push(`${c.examples} examples`);
    if (c.masks && Object.keys(c.masks).length) parts.push('masks ' + Object.keys(c.masks).join(', '));
    const thresholds = (c.thresholds || []).filter((t) => t && typeof t === 'object');
    if (thresholds.length) {
      parts.push(`${thresholds.filter((t) => t.below && t.above).length} of ${thresholds.length} thresholds crossed`);
    }
    if (typeof c.peak_memory_bytes === 'number') parts.push(`peak ${(c.peak_memory_bytes / 2 ** 30).toFixed(1)} GiB`);
    return parts.join('; ');
  }
  function tooltip(c) {
    let tip = `${c.id}\n${c.status}`;
    if (c.stage) tip += ` at ${c.stage}`;
    if (c.reason) tip += `: ${c.reason}`;
    const ran = whatRan(c);
    return ran ? `${tip}\n${ran}` : tip;
  }

  // ---- rows: one per (library, model type), grouped by library --------------------------------
  const columns = $$('#matrix thead th.sub').map((th) => ({
    task: th.dataset.task, column: th.dataset.column, first: th.classList.contains('task-start'),
  }));
  const columnIndex = new Map(columns.map((col, i) => [`${col.task}\u0000${col.column}`, i]));
  const rowsByKey = new Map();
  for (const c of data.cells) {
    const key = `${c.library}\u0000${c.model_type}`;
    let row = rowsByKey.get(key);
    if (!row) {
      row = { library: c.library, model: c.model_type, cells: new Array(columns.length).fill(null) };
      rowsByKey.set(key, row);
    }
    const index = columnIndex.get(`${c.task}\u0000${c.column}`);
    if (index !== undefined) row.cells[index] = c;
    c.search = [c.library, c.model_type, c.task, c.column].join(' ').toLowerCase();
  }
  const rows = Array.from(rowsByKey.values()).sort((a, b) =>
    (a.library < b.library ? -1 : a.library > b.library ? 1 : a.model < b.model ? -1 : a.model > b.model ? 1 : 0));

  const wrap = $('.table-wrap');
  const tbody = $('#matrix tbody');
  const ROW_HEIGHT = 33;  // px, fixed by the stylesheet (#matrix tbody tr)
  const OVERSCAN = 12;
  let entries = [];  // what the filter keeps: {group} and {row, on: [bool per column]}
  let selectedId = null;

  function matches(c, terms, statuses) {
    return statuses.has(c.status) && terms.every((t) => c.search.includes(t));
  }

  const filter = $('#filter');
  function applyFilters() {
    const terms = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const statuses = new Set($$('#legend input:checked').map((i) => i.value));
    entries = [];
    let library = null, visible = 0;
    for (const row of rows) {
      const on = row.cells.map((c) => !!c && matches(c, terms, statuses));
      if (!on.some(Boolean)) continue;
      if (row.library !== library) {
        library = row.library;
        entries.push({ group: library });
      }
      entries.push({ row, on });
      visible += 1;
    }
    $('#no-match').hidden = visible > 0;
    $('#visible-count').textContent = `${visible} of ${rows.length} models`;
    render(true);
  }

  function cellNode(c, first, on) {
    const td = el('td', `cell${first ? ' task-start' : ''}${on ? '' : ' off'}${c.id === selectedId ? ' selected' : ''}`,
      el('span', `chip s-${c.status}`, ABBREVIATIONS[c.status] || c.status));
    td.dataset.id = c.id;
    td.dataset.status = c.status;
    td.dataset.search = c.search;
    td.title = tooltip(c);
    td.tabIndex = 0;
    td.setAttribute('role', 'button');
    return td;
  }

  function entryNode(entry) {
    if (entry.group !== undefined) {
      const th = el('th', null, el('span', null, entry.group));
      th.colSpan = columns.length + 1;
      th.scope = 'rowgroup';
      const tr = el('tr', 'group', th);
      tr.dataset.library = entry.group;
      return tr;
    }
    const { row, on } = entry;
    const head = el('th', 'row-head', row.model);
    head.scope = 'row';
    const tr = el('tr', 'model', head);
    tr.dataset.library = row.library;
    tr.dataset.modelType = row.model;
    row.cells.forEach((c, i) => {
      tr.append(c ? cellNode(c, columns[i].first, on[i]) : el('td', `blank${columns[i].first ? ' task-start' : ''}`));
    });
    return tr;
  }

  function spacer(height) {
    const td = el('td');
    td.colSpan = columns.length + 1;
    const tr = el('tr', 'spacer', td);
    tr.style.height = `${height}px`;
    return tr;
  }

  let shown = [-1, -1];
  function render(force = false) {
    const headHeight = $('#matrix thead').offsetHeight;
    const top = Math.max(0, wrap.scrollTop - headHeight);
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    // the wrap is no taller than the window; before its rows exist it may be much shorter
    const height = Math.max(wrap.clientHeight, window.innerHeight);
    const last = Math.min(entries.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    if (!force && first === shown[0] && last === shown[1]) return;
    shown = [first, last];
    const nodes = [];
    if (first > 0) nodes.push(spacer(first * ROW_HEIGHT));
    for (let i = first; i < last; i += 1) nodes.push(entryNode(entries[i]));
    if (last < entries.length) nodes.push(spacer((entries.length - last) * ROW_HEIGHT));
    nodes.push($('#no-match'));
    tbody.replaceChildren(...nodes);
  }
  wrap.addEventListener('scroll', () => render(), { passive: true });
  window.addEventListener('resize', () => render(true));

  function scrollToCell(id) {
    const c = byId.get(id);
    if (!c) return;
    const index = entries.findIndex((e) => e.row && e.row.library === c.library && e.row.model === c.model_type);
    if (index < 0) return;
    const headHeight = $('#matrix thead').offsetHeight;
    const y = index * ROW_HEIGHT;
    if (y < wrap.scrollTop - headHeight || y > wrap.scrollTop - headHeight + wrap.clientHeight - 2 * ROW_HEIGHT) {
      wrap.scrollTop = Math.max(0, y - wrap.clientHeight / 3);
    }
    render(true);
  }

  // ---- the certificate panel -------------------------------------------------------------------
  // A cell's commit as people read it (its first 7 hex digits, and +dirty); the whole hash on hover.
  function commitOf(commit) {
    if (typeof commit !== 'string' || !commit) return DASH;
    const short = commit.slice(0, 7) + (commit.endsWith('+dirty') ? '+dirty' : '');
    const span = el('span', 'mono', short);
    span.title = commit;
    return span;
  }
  function kv(pairs) {
    const dl = el('dl', 'kv');
    for (const [key, value] of pairs) dl.append(el('dt', null, key), el('dd', null, value instanceof Node ? value : show(value)));
    return dl;
  }
  const section = (title, ...content) => el('section', 'd-section', el('h3', null, title), ...content);

  function outputsTable(outputs) {
    const names = Object.keys(outputs || {});
    if (!names.length) return el('p', 'muted', 'No outputs were compared.');
    const head = el('tr', null, ...['output', 'max |diff|', 'atol', ''].map((h) => el('th', null, h)));
    const body = el('tbody');
    for (const name of names) {
      const o = outputs[name] || {};
      const ok = typeof o.max_abs_diff === 'number' && typeof o.atol === 'number' ? o.max_abs_diff <= o.atol : null;
      const label = o.skipped_positions
        ? el('td', 'mono wrap', name, el('div', 'muted', `${o.skipped_positions.toLocaleString('en')} undefined padded values not compared`))
        : el('td', 'mono wrap', name);
      body.append(el('tr', null, label, el('td', 'num nowrap', fmtNum(o.max_abs_diff)),
        el('td', 'num nowrap', fmtNum(o.atol)),
        el('td', ok === null ? 'muted' : ok ? 'pass' : 'fail', ok === null ? DASH : ok ? '\u2713' : '\u2717')));
    }
    return el('table', 'd-table', el('thead', null, head), body);
  }

  function variantsTable(variants) {
    if (!variants || !variants.length) return el('p', 'muted', 'No variants were recorded.');
    const head = el('tr', null, ...['model', 'status', 'stage', 'examples'].map((h) => el('th', null, h)));
    const body = el('tbody');
    for (const v of variants) {
      body.append(el('tr', null, el('td', 'mono wrap', show(v.name)),
        el('td', v.status === 'certified' ? 'pass' : (v.status === 'not run' ? 'muted' : 'fail'), show(v.status)),
        el('td', 'mono', show(v.stage)), el('td', 'num', show(v.examples))));
      if (v.reason) {
        const note = el('td', 'muted wrap', v.reason);
        note.colSpan = 4;
        body.append(el('tr', null, note));
      }
    }
    return el('table', 'd-table', el('thead', null, head), body);
  }

  function thresholdsList(thresholds) {
    if (!thresholds || !thresholds.length) return DASH;
    return el('ul', 'shapes', ...thresholds.map((t) => {
      const crossed = t.below && t.above;
      const sides = crossed ? 'crossed' : (t.below ? 'only sizes at or below tried' : 'only sizes above tried');
      return el('li', crossed ? 'mono' : 'mono fail', `${t.field}=${t.value} on ${(t.axes || []).join(', ')}: ${sides}`);
    }));
  }

  function paddingPolicy(p) {
    if (!p) return DASH;
    const skipped = (p.not_compared_after || []).length
      ? `; outputs at padded positions not compared after ${p.not_compared_after.join(', ')} padding` : '';
    return `padded on the ${(p.sides || []).join(' or ')}${skipped}`;
  }

  function shapesList(c) {
    const tried = c.shapes_tried || [];
    if (!tried.length) return DASH;
    return el('ol', 'shapes', ...tried.map((s) =>
      el('li', sameShape(s, c.minimal_failing_shape) ? 'minimal mono' : 'mono', fmtShape(s))));
  }

  function reproduce(cmd) {
    if (!cmd) return el('p', 'muted', DASH);
    const code = el('code', null, cmd);
    const button = el('button', 'copy', 'Copy');
    button.type = 'button';
    button.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(cmd);
        button.textContent = 'Copied';
      } catch (_) {
        // The clipboard API can be unavailable (permissions, file://): select the text for Ctrl+C.
        const range = document.createRange();
        range.selectNodeContents(code);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        button.textContent = 'Ctrl+C';
      }
      setTimeout(() => { button.textContent = 'Copy'; }, 1500);
    });
    return el('div', 'repro', el('pre', null, code), button);
  }

  const panel = $('#details');
  function openDetails(id, updateHash = true) {
    const c = byId.get(id);
    if (!c) return;
    selectedId = id;
    const badge = $('#details-badge');
    badge.className = 'chip s-' + c.status;
    badge.textContent = c.status;
    $('#details-title').textContent = c.id;
    const largest = c.largest_input
      ? el('span', 'mono', `${fmtShape(c.largest_input.example)} (${Number(c.largest_input.elements).toLocaleString('en')} elements)`)
      : DASH;
    $('#details-body').replaceChildren(...[
      section('Result', kv([['Status', c.status], ['Failing stage', c.stage], ['Reason', c.reason]])),
      c.error ? section('Error', el('pre', 'error', c.error)) : null,
      section('Outputs', outputsTable(c.outputs)),
      section('Variants', variantsTable(c.variants)),
      section('Inputs', kv([['Examples', c.examples], ['Masks', fmtCounts(c.masks)],
        ['Padding', paddingPolicy(c.padding)], ['Thresholds', thresholdsList(c.thresholds)],
        ['Largest input', largest],
        ['Example budget', typeof c.example_budget === 'number'
          ? `${c.example_budget.toLocaleString('en')} input elements` : DASH],
        ['Minimal failing', c.minimal_failing_shape !== null && c.minimal_failing_shape !== undefined
          ? el('span', 'mono', fmtShape(c.minimal_failing_shape)) : DASH],
        ['Tried (base model)', shapesList(c)]])),
      section('Memory', kv([['Peak resident', fmtBytes(c.peak_memory_bytes)],
        ['Growth during the case', fmtBytes(c.memory_growth_bytes)], ['Budget', fmtBytes(c.memory_budget_bytes)]])),
      section('Export', kv([['Library', c.library], ['Model type', c.model_type], ['Task', c.task],
        ['Exporter', c.exporter], ['Engine', c.engine], ['Opset', c.opset],
        ['Export time', fmtSeconds(c.export_seconds)], ['Artefact size', fmtBytes(c.artefact_bytes)],
        ['Test duration', fmtSeconds(c.duration_seconds)]])),
      section('Reproduce', reproduce(c.reproduce), kv([['Seed', c.seed], ['Hypothesis profile', c.hypothesis_profile],
        ['Registered at', c.registered_at ? el('span', 'mono', c.registered_at) : DASH],
        ['Measured at commit', commitOf(c.commit)]])),
      section('Versions', kv(Object.entries(c.versions || {}).map(([k, v]) => [k, el('span', 'mono', show(v))]))),
    ].filter(Boolean));
    $$('td.cell.selected').forEach((td) => td.classList.remove('selected'));
    $$('td.cell').filter((td) => td.dataset.id === id).forEach((td) => td.classList.add('selected'));
    panel.hidden = false;
    panel.scrollTop = 0;
    if (updateHash) {
      try { history.replaceState(null, '', '#' + encodeURIComponent(id)); } catch (_) { /* e.g. sandboxed file:// */ }
    }
  }
  function closeDetails() {
    panel.hidden = true;
    selectedId = null;
    $$('td.cell.selected').forEach((td) => td.classList.remove('selected'));
    try { history.replaceState(null, '', location.pathname + location.search); } catch (_) { /* ignore */ }
  }

  const table = $('#matrix');
  table.addEventListener('click', (ev) => {
    const td = ev.target.closest('td.cell');
    if (td) openDetails(td.dataset.id);
  });
  table.addEventListener('keydown', (ev) => {
    const td = ev.target.closest('td.cell');
    if (td && (ev.key === 'Enter' || ev.key === ' ')) { ev.preventDefault(); openDetails(td.dataset.id); }
  });
  $('#details-close').addEventListener('click', closeDetails);
  filter.addEventListener('input', applyFilters);
  $$('#legend input').forEach((i) => i.addEventListener('change', applyFilters));
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !panel.hidden) closeDetails();
    else if (ev.key === '/' && document.activeElement !== filter) { ev.preventDefault(); filter.focus(); }
  });

  applyFilters();
  function openFromHash() {
    try {
      const id = decodeURIComponent(location.hash.slice(1));  // deep link to a certificate
      if (byId.has(id)) {
        scrollToCell(id);
        openDetails(id, false);
      }
    } catch (_) { /* malformed hash: ignore */ }
  }
  openFromHash();
  // The links of the "Changes since" section are hash links to certificates.
  window.addEventListener('hashchange', openFromHash);
  window.__matrixReady = true;
})();
