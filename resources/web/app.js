// Browser client. Microphone mode: microphone -> 16 kHz f32/s16 frames -> /ws/transcription
// -> live captions. Watch mode (?mode=watch): every source's captions, read-only (watch.js).
// Overlay mode (?mode=overlay): chosen sources on a transparent page, for OBS (overlay.js).
import { CaptionsView } from './captions-view.js';
import { fillDevices, fillLanguages, rememberDevice } from './pickers.js';
import { startOverlay } from './overlay.js';
import { Framer, Resampler } from './resampler.js';
import { startWatching } from './watch.js';

const TARGET_RATE = 16000;
const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const mode = ['watch', 'overlay'].includes(params.get('mode')) ? params.get('mode') : 'mic';
const view = new CaptionsView($('captions'), $('announcer'));

// Test hooks and a summary of what happened, for people and for automated checks.
const state = (window.whisperState = {
  ready: null, text: '', finals: 0, sentSeconds: 0, errors: [], notices: [], done: false,
  capture: null,
});

let socket = null;
let audio = null; // { ctx, stream, node }
let running = false;
let backoff = 500;
const utterances = new Map(); // client_id -> open utterance element
// Resume after a dropped connection: the session's token, the last event seen, and the audio
// sent (the last KEEP_SECONDS of it) or captured while disconnected, to send again.
const KEEP_SECONDS = 30;
const resume = { token: null, lastSeq: 0 };
const sent = { total: 0, frames: [] }; // frames: [offset in samples, Float32Array]
let waiting = [];
let live = false; // "ready" came on the current connection

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

function wsUrl() {
  const q = new URLSearchParams({ client_id: $('client-id').value, format: $('format').value });
  if ($('language').value) q.set('language', $('language').value);
  if (params.get('token')) q.set('token', params.get('token'));
  if (resume.token) {
    q.set('resume', resume.token);
    q.set('last_seq', String(resume.lastSeq));
  }
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/ws/transcription?${q}`;
}

function showTranscript(msg) {
  view.show(msg);
  state.text += msg.text;
  if (msg.final) state.finals += 1;
}

function showLine(cls, text) {
  view.line(cls, text);
}

function seenBefore(msg) {
  if (msg.type === 'ready' || typeof msg.seq !== 'number') return false;
  if (msg.seq <= resume.lastSeq) return true; // sent again after a reconnect
  resume.lastSeq = msg.seq;
  return false;
}

function onReady(msg) {
  resume.token = msg.resume_token || null;
  if (msg.resumed) {
    const have = msg.received_samples || 0;
    for (const [offset, frame] of sent.frames) {
      if (offset + frame.length > have) socket.send(toWire(frame.slice(Math.max(0, have - offset))));
    }
  } else {
    resume.lastSeq = 0;
    sent.total = 0;
    sent.frames = [];
  }
  live = true;
  const queued = waiting;
  waiting = [];
  queued.forEach(sendFrame);
}

function onMessage(event) {
  let msg;
  try { msg = JSON.parse(event.data); } catch { return; }
  if (seenBefore(msg)) return;
  switch (msg.type) {
    case 'ready':
      state.ready = msg;
      backoff = 500;
      onReady(msg);
      setStatus(`Listening — model ${msg.model}, language ${msg.language}, as "${msg.client_id}".`);
      break;
    case 'transcript':
      showTranscript(msg);
      break;
    case 'notice':
      state.notices.push(msg);
      showLine('notice', msg.message);
      break;
    case 'error':
      state.errors.push(msg);
      showLine('error-line', `${msg.code}: ${msg.message}`);
      break;
    case 'done':
      state.done = true;
      setStatus('Finished: all text received.');
      break;
    default:
      break;
  }
}

function connect() {
  const ws = new WebSocket(wsUrl());
  ws.binaryType = 'arraybuffer';
  ws.onmessage = onMessage;
  ws.onclose = (ev) => {
    if (socket !== ws) return;
    socket = null;
    live = false;
    if (!running) return;
    if ([1003, 1008, 1009].includes(ev.code)) {
      setStatus(`Refused by the server: ${ev.reason || ev.code}`, true);
      stop(false);
      return;
    }
    setStatus(`Connection lost (${ev.code} ${ev.reason}); reconnecting…`, true);
    setTimeout(() => { if (running && !socket) connect(); }, backoff);
    backoff = Math.min(backoff * 2, 10000);
  };
  socket = ws;
}

function toWire(frame) {
  if ($('format').value === 's16') {
    const out = new Int16Array(frame.length);
    for (let i = 0; i < frame.length; i++) {
      const v = Math.max(-1, Math.min(1, frame[i]));
      out[i] = v < 0 ? v * 32768 : v * 32767;
    }
    return out.buffer;
  }
  return frame.buffer; // Float32Array: little-endian on every platform browsers run on
}

function sendFrame(frame) {
  if (!live || !socket || socket.readyState !== WebSocket.OPEN) {
    waiting.push(frame); // sent once the connection is back (the last KEEP_SECONDS of it)
    while (waiting.length > (KEEP_SECONDS * TARGET_RATE) / frame.length) waiting.shift();
    return;
  }
  socket.send(toWire(frame));
  sent.frames.push([sent.total, frame]);
  sent.total += frame.length;
  while (sent.total - sent.frames[0][0] > KEEP_SECONDS * TARGET_RATE) sent.frames.shift();
  state.sentSeconds += frame.length / TARGET_RATE;
}

async function openMicrophone() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error('the browser allows the microphone only on secure pages: open this page '
      + 'as http://localhost:PORT/ on the server machine, or through https');
  }
  const audioWanted = {
    channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false,
  };
  if ($('device').value) audioWanted.deviceId = { exact: $('device').value };
  const stream = await navigator.mediaDevices.getUserMedia({ audio: audioWanted });
  fillDevices($('device')).catch(() => {}); // names are known now that the page may listen
  const ctx = new (window.AudioContext || window.webkitAudioContext)();
  await ctx.resume();
  const source = ctx.createMediaStreamSource(stream);
  const sink = ctx.createGain();
  sink.gain.value = 0; // keep the graph pulling without playing the mic back
  sink.connect(ctx.destination);
  let node;
  if (ctx.audioWorklet && window.AudioWorkletNode) {
    await ctx.audioWorklet.addModule('web/capture-worklet.js');
    node = new AudioWorkletNode(ctx, 'capture-16k', {
      numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: 'explicit',
      processorOptions: { targetRate: TARGET_RATE },
    });
    node.port.onmessage = (e) => sendFrame(e.data);
    state.capture = 'audioworklet';
  } else {
    const resampler = new Resampler(ctx.sampleRate, TARGET_RATE);
    const framer = new Framer(TARGET_RATE / 10, (f) => sendFrame(f));
    node = ctx.createScriptProcessor(4096, 1, 1);
    node.onaudioprocess = (e) => framer.push(resampler.process(e.inputBuffer.getChannelData(0)));
    state.capture = 'scriptprocessor';
  }
  source.connect(node);
  node.connect(sink);
  return { ctx, stream, node, rate: ctx.sampleRate };
}

async function start() {
  if (running) return;
  running = true;
  state.done = false;
  resume.token = null; // a new start is a new session
  waiting = [];
  $('start').disabled = true;
  $('stop').disabled = false;
  setStatus('Opening the microphone…');
  try {
    audio = await openMicrophone();
  } catch (err) {
    running = false;
    $('start').disabled = false;
    $('stop').disabled = true;
    setStatus(`Microphone unavailable: ${err.message || err}`, true);
    return;
  }
  setStatus(`Connecting (microphone at ${audio.rate} Hz, sending 16 kHz ${$('format').value})…`);
  connect();
}

function stop(flush = true) {
  running = false;
  $('start').disabled = false;
  $('stop').disabled = true;
  if (audio) {
    audio.stream.getTracks().forEach((t) => t.stop());
    audio.ctx.close();
    audio = null;
  }
  if (flush && socket && socket.readyState === WebSocket.OPEN) {
    setStatus('Finishing the last words…');
    socket.send(JSON.stringify({ type: 'end' }));
  }
}

function setMode(next) {
  const q = new URLSearchParams(location.search);
  if (next === 'watch') q.set('mode', 'watch'); else q.delete('mode');
  q.delete('autostart');
  location.search = q.toString();
}

function initMicrophone() {
  $('client-id').value = params.get('client_id') || `browser-${Math.random().toString(36).slice(2, 7)}`;
  if (['f32', 's16'].includes(params.get('format'))) $('format').value = params.get('format');
  $('controls').addEventListener('submit', (e) => { e.preventDefault(); start(); });
  $('stop').addEventListener('click', () => stop(true));
  $('device').addEventListener('change', () => rememberDevice($('device')));
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
    navigator.mediaDevices.addEventListener('devicechange', () => fillDevices($('device')).catch(() => {}));
  }
  state.pickers = Promise.all([
    fillLanguages($('language'), params.get('language')).catch((err) => {
      showLine('error-line', `The language list could not be loaded: ${err.message || err}`);
      return 0;
    }),
    fillDevices($('device')).catch(() => 0),
  ]).then(([languages, devices]) => { state.languages = languages; state.devices = devices; });
  if (params.get('autostart') === '1') state.pickers.then(start);
}

document.body.classList.add(`mode-${mode}`);
$('mode-toggle').textContent = mode === 'watch' ? 'Caption my microphone' : 'Watch all captions';
$('mode-toggle').setAttribute('aria-pressed', String(mode === 'watch'));
$('mode-toggle').addEventListener('click', () => setMode(mode === 'watch' ? 'mic' : 'watch'));
if (mode === 'overlay') {
  startOverlay({ box: $('captions'), params, view });
} else if (mode === 'watch') {
  startWatching({
    view, params, setStatus, sourcesList: $('sources'), wakeNote: $('wake-note'),
  });
} else {
  initMicrophone();
}
