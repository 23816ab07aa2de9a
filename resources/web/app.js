// Browser client: microphone -> 16 kHz f32/s16 frames -> /ws/transcription -> live captions.
import { Framer, Resampler } from './resampler.js';

const TARGET_RATE = 16000;
const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);

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

function colorFor(clientId) {
  let h = 0;
  for (const c of clientId) h = (h * 31 + c.codePointAt(0)) >>> 0;
  return `hsl(${h % 360}, 75%, 65%)`;
}

function wsUrl() {
  const q = new URLSearchParams({ client_id: $('client-id').value, format: $('format').value });
  if ($('language').value.trim()) q.set('language', $('language').value.trim());
  if (params.get('token')) q.set('token', params.get('token'));
  if (resume.token) {
    q.set('resume', resume.token);
    q.set('last_seq', String(resume.lastSeq));
  }
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/ws/transcription?${q}`;
}

function showTranscript(msg) {
  const box = $('captions');
  let el = utterances.get(msg.client_id);
  if (!el) {
    el = document.createElement('div');
    el.className = 'utterance open';
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = msg.client_id;
    const text = document.createElement('span');
    text.className = 'text';
    el.append(who, text);
    el.style.color = colorFor(msg.client_id);
    box.append(el);
    utterances.set(msg.client_id, el);
  }
  const text = el.querySelector('.text');
  text.textContent = (text.textContent + msg.text).replace(/^\s+/, '');
  state.text += msg.text;
  if (msg.final) {
    el.classList.remove('open');
    utterances.delete(msg.client_id);
    state.finals += 1;
  }
  while (box.children.length > 200) box.firstElementChild.remove();
  window.scrollTo(0, document.body.scrollHeight);
}

function showLine(cls, text) {
  const el = document.createElement('div');
  el.className = cls;
  el.textContent = text;
  $('captions').append(el);
}

function seenBefore(msg) {
  if (typeof msg.seq !== 'number') return false;
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
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
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

$('client-id').value = params.get('client_id') || `browser-${Math.random().toString(36).slice(2, 7)}`;
$('language').value = params.get('language') || '';
if (['f32', 's16'].includes(params.get('format'))) $('format').value = params.get('format');
$('controls').addEventListener('submit', (e) => { e.preventDefault(); start(); });
$('stop').addEventListener('click', () => stop(true));
if (params.get('autostart') === '1') start();
