// The caption area shared by both modes: one coloured line per utterance and source, and a
// screen-reader log that hears committed (final) lines only.

const PALETTE = ['#4fc3f7', '#ffb74d', '#81c784', '#f06292', '#ba68c8', '#fff176', '#4db6ac', '#ff8a65'];
const LABELS = { user: 'Desktop microphone', system: 'System audio' };
const MAX_LINES = 200;
const MAX_ANNOUNCED = 20;

export function labelFor(clientId) {
  return LABELS[clientId] || clientId;
}

export class CaptionsView {
  constructor(box, announcer) {
    this.box = box;
    this.announcer = announcer;
    this.colors = new Map(); // client_id -> colour, in order of appearance
    this.open = new Map(); // client_id -> open utterance element
  }

  colorFor(clientId) {
    if (!this.colors.has(clientId)) {
      this.colors.set(clientId, PALETTE[this.colors.size % PALETTE.length]);
    }
    return this.colors.get(clientId);
  }

  clear() {
    this.box.replaceChildren();
    this.open.clear();
  }

  // msg: a wire "transcript" message. announce: false for replayed backlog lines.
  show(msg, announce = true) {
    let el = this.open.get(msg.client_id);
    if (!el) {
      el = document.createElement('div');
      el.className = 'utterance open';
      el.dataset.clientId = msg.client_id;
      el.dataset.start = String(msg.start);
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = labelFor(msg.client_id);
      const text = document.createElement('span');
      text.className = 'text';
      el.append(who, text);
      el.style.color = this.colorFor(msg.client_id);
      this.box.append(el);
      this.open.set(msg.client_id, el);
    }
    const text = el.querySelector('.text');
    text.textContent = (text.textContent + msg.text).replace(/^\s+/, '');
    if (msg.final) this.close(msg.client_id, announce);
    while (this.box.children.length > MAX_LINES) this.box.firstElementChild.remove();
    window.scrollTo(0, document.body.scrollHeight);
  }

  // msg: a wire "utterance" message, the final pass's text of a committed line: it replaces
  // that line's live text. Returns whether the line was found.
  revise(msg) {
    for (const el of this.box.querySelectorAll('.utterance')) {
      const same = el.dataset.clientId === msg.client_id
        && Math.abs(Number(el.dataset.start) - msg.start) < 0.002;
      if (same && !el.classList.contains('open')) {
        el.querySelector('.text').textContent = msg.text;
        el.classList.add('revised');
        return true;
      }
    }
    return false;
  }

  // The utterance of clientId is committed: it stops growing and is read out.
  close(clientId, announce = true) {
    const el = this.open.get(clientId);
    if (!el) return;
    el.classList.remove('open');
    this.open.delete(clientId);
    const text = el.querySelector('.text').textContent.trim();
    if (announce && text) this.announce(`${labelFor(clientId)}: ${text}`);
  }

  announce(line) {
    const p = document.createElement('p');
    p.textContent = line;
    this.announcer.append(p);
    while (this.announcer.children.length > MAX_ANNOUNCED) this.announcer.firstElementChild.remove();
  }

  line(cls, text) {
    const el = document.createElement('div');
    el.className = cls;
    el.textContent = text;
    this.box.append(el);
  }
}
