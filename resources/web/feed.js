// The read-only caption feed (/ws/captions), reconnecting with backoff; watch and overlay modes.

export function openCaptionFeed({ params, onMessage, onRefused, onLost }) {
  let backoff = 500;

  function connect() {
    const q = new URLSearchParams();
    if (params.get('token')) q.set('token', params.get('token'));
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/ws/captions?${q}`);
    ws.onmessage = (event) => {
      let msg;
      try { msg = JSON.parse(event.data); } catch { return; }
      if (msg.type === 'ready') backoff = 500;
      onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (ev.code === 1008) {
        onRefused(ev);
        return;
      }
      onLost(ev);
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }

  connect();
}
