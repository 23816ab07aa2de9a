// Watch mode: the read-only caption feed (/ws/captions) of every source, colour-coded.
import { labelFor } from './captions-view.js';
import { openCaptionFeed } from './feed.js';
import { WakeKeeper } from './wake.js';

export function startWatching({ view, params, setStatus, sourcesList, wakeNote }) {
  // Test hooks and a summary, as window.whisperState is for the microphone mode.
  const state = (window.whisperWatch = {
    ready: null, sources: {}, texts: {}, finals: 0, revised: 0, notices: [], errors: [], wakeLock: null,
  });
  const wake = new WakeKeeper((s, detail) => {
    state.wakeLock = s;
    wakeNote.textContent = `Screen: ${detail}.`;
    wakeNote.hidden = s === 'active';
  });
  wake.acquire();

  function legend(clientId, present) {
    let li = sourcesList.querySelector(`li[data-client-id="${CSS.escape(clientId)}"]`);
    if (!li) {
      li = document.createElement('li');
      li.dataset.clientId = clientId;
      li.style.color = view.colorFor(clientId);
      li.textContent = labelFor(clientId);
      sourcesList.append(li);
    }
    li.classList.toggle('gone', !present);
    state.sources[clientId] = { color: view.colorFor(clientId), present };
  }

  function onMessage(msg) {
    switch (msg.type) {
      case 'ready':
        state.ready = msg;
        view.clear(); // the backlog that follows rebuilds the view
        sourcesList.replaceChildren();
        msg.sources.forEach((s) => legend(s.client_id, true));
        setStatus(`Watching all captions — model ${msg.model}, language ${msg.language}.`);
        break;
      case 'transcript':
        if (!(msg.client_id in state.sources)) legend(msg.client_id, true);
        view.show(msg, !msg.backlog);
        state.texts[msg.client_id] = (state.texts[msg.client_id] || '') + (msg.backlog ? ` ${msg.text}` : msg.text);
        if (msg.final) state.finals += 1;
        break;
      case 'utterance':
        if (view.revise(msg)) state.revised += 1;
        break;
      case 'source':
        legend(msg.client_id, msg.event === 'joined');
        if (msg.event === 'left') view.close(msg.client_id);
        break;
      case 'notice':
        state.notices.push(msg);
        view.line('notice', msg.message);
        break;
      case 'error':
        state.errors.push(msg);
        view.line('error-line', `${msg.code}: ${msg.message}`);
        break;
      default:
        break;
    }
  }

  setStatus('Connecting to the caption feed…');
  openCaptionFeed({
    params,
    onMessage,
    onRefused: (ev) => setStatus(`Refused by the server: ${ev.reason || ev.code}`, true),
    onLost: (ev) => setStatus(`Connection lost (${ev.code} ${ev.reason}); reconnecting…`, true),
  });
}
