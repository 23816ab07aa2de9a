// Overlay mode (?mode=overlay), for a streaming program's browser source (OBS): no chrome, a
// transparent page, each chosen source's last lines in large outlined text. Query:
//   sources=user,system   client ids to show, in this order (default: every source)
//   lines=3 (1-6)   size=48 (px, 8-200)   outline=3 (px, 0-12)   outline_color=000000
//   color=ffffff (one colour for all; default: each source its own)   labels=0 (hide names)
//   clear=10 (seconds after the last words a source's text clears; 0 keeps it)
import { labelFor } from './captions-view.js';
import { openCaptionFeed } from './feed.js';

const MAX_KEPT_CHARS = 600;
const OUTLINE_STEPS = 16; // shadows around each glyph: a round outline of text-shadows

function number(params, key, fallback, lo, hi) {
  const v = Number.parseFloat(params.get(key));
  return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : fallback;
}

function hexColor(params, key, fallback) {
  const v = (params.get(key) || '').replace(/^#/, '');
  return /^([0-9a-f]{3}|[0-9a-f]{6}|[0-9a-f]{8})$/i.test(v) ? `#${v}` : fallback;
}

export function overlayOptions(params) {
  const sources = (params.get('sources') || '').split(',').map((s) => s.trim()).filter(Boolean);
  return {
    sources,
    lines: Math.round(number(params, 'lines', 2, 1, 6)),
    size: number(params, 'size', 48, 8, 200),
    outline: number(params, 'outline', 3, 0, 12),
    outlineColor: hexColor(params, 'outline_color', '#000000'),
    color: hexColor(params, 'color', null),
    labels: params.get('labels') !== '0',
    clearSeconds: number(params, 'clear', 10, 0, 3600),
  };
}

// A ring of hard shadows: an outline that also works where -webkit-text-stroke would eat into
// the glyphs (it is centred on the edge) and in older browser sources.
export function outlineShadow(width, color) {
  if (width <= 0) return 'none';
  const shadows = [];
  for (let i = 0; i < OUTLINE_STEPS; i += 1) {
    const a = (2 * Math.PI * i) / OUTLINE_STEPS;
    const x = (width * Math.cos(a)).toFixed(2);
    const y = (width * Math.sin(a)).toFixed(2);
    shadows.push(`${x}px ${y}px 0 ${color}`);
  }
  return shadows.join(', ');
}

export function startOverlay({ box, params, view }) {
  const opt = overlayOptions(params);
  const root = document.documentElement;
  root.classList.add('overlay');
  root.style.setProperty('--ov-size', `${opt.size}px`);
  root.style.setProperty('--ov-lines', String(opt.lines));
  root.style.setProperty('--ov-shadow', outlineShadow(opt.outline, opt.outlineColor));
  const state = (window.whisperOverlay = { options: opt, ready: null, texts: {}, finals: 0 });
  const rows = new Map(); // client_id -> { el, text, open, timer }

  const wanted = (clientId) => opt.sources.length === 0 || opt.sources.includes(clientId);

  function row(clientId) {
    let r = rows.get(clientId);
    if (r) return r;
    const el = document.createElement('div');
    el.className = 'ov-source';
    el.dataset.clientId = clientId;
    el.style.color = opt.color || view.colorFor(clientId);
    const who = document.createElement('div');
    who.className = 'who';
    who.textContent = labelFor(clientId);
    who.hidden = !opt.labels;
    const lines = document.createElement('div');
    lines.className = 'ov-lines';
    const text = document.createElement('span');
    text.className = 'text';
    lines.append(text);
    el.append(who, lines);
    r = { el, text, done: '', open: '', timer: null };
    rows.set(clientId, r);
    const order = [...rows.keys()].sort((a, b) => rank(a) - rank(b));
    box.replaceChildren(...order.map((id) => rows.get(id).el));
    return r;
  }

  function rank(clientId) {
    const i = opt.sources.indexOf(clientId);
    return i >= 0 ? i : opt.sources.length + [...rows.keys()].indexOf(clientId);
  }

  function render(r) {
    r.text.textContent = `${r.done} ${r.open}`.trim().slice(-MAX_KEPT_CHARS);
    r.el.hidden = !r.text.textContent;
    if (r.timer) clearTimeout(r.timer);
    if (opt.clearSeconds > 0) {
      r.timer = setTimeout(() => { r.done = ''; r.open = ''; render(r); }, opt.clearSeconds * 1000);
    }
  }

  function onTranscript(msg) {
    if (!wanted(msg.client_id)) return;
    const r = row(msg.client_id);
    r.open = (r.open + (msg.backlog ? ` ${msg.text}` : msg.text)).replace(/^\s+/, '');
    if (msg.final) {
      r.done = `${r.done} ${r.open}`.trim().slice(-MAX_KEPT_CHARS);
      const line = r.open.trim();
      r.open = '';
      state.finals += 1;
      if (line && !msg.backlog) view.announce(`${labelFor(msg.client_id)}: ${line}`);
    }
    render(r);
    state.texts[msg.client_id] = r.text.textContent;
  }

  function problem(text) {
    const p = document.createElement('div');
    p.className = 'ov-problem';
    p.textContent = text;
    box.replaceChildren(p);
    rows.clear();
  }

  openCaptionFeed({
    params,
    onMessage: (msg) => {
      if (msg.type === 'ready') {
        state.ready = msg;
        rows.clear();
        box.replaceChildren();
      } else if (msg.type === 'transcript') {
        onTranscript(msg);
      }
    },
    onRefused: (ev) => problem(`Whisper Desktop refused this overlay: ${ev.reason || ev.code}`),
    onLost: () => {},
  });
}
