// Streaming resampler to 16 kHz: windowed-sinc low-pass, then linear interpolation.
// Shared by the AudioWorklet (capture-worklet.js) and the ScriptProcessor fallback (app.js).

export class Resampler {
  constructor(inRate, outRate = 16000, taps = 63) {
    this.ratio = inRate / outRate;
    this.passthrough = Math.abs(this.ratio - 1) < 1e-9;
    const cutoff = 0.45 * Math.min(1, 1 / this.ratio); // cycles per input sample
    const kernel = new Float32Array(taps);
    const mid = (taps - 1) / 2;
    let sum = 0;
    for (let i = 0; i < taps; i++) {
      const n = i - mid;
      const sinc = n === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * n) / (Math.PI * n);
      const w = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (taps - 1))
        + 0.08 * Math.cos((4 * Math.PI * i) / (taps - 1)); // Blackman
      kernel[i] = sinc * w;
      sum += kernel[i];
    }
    for (let i = 0; i < taps; i++) kernel[i] /= sum;
    this.kernel = kernel;
    this.history = new Float32Array(taps - 1);
    this.prev = 0; // last filtered sample of the previous block (index -1)
    this.pos = 0; // where the next output sample falls, in filtered samples of this block
  }

  process(input) {
    if (this.passthrough) return Float32Array.from(input);
    const taps = this.kernel.length;
    const n = input.length;
    const buf = new Float32Array(taps - 1 + n);
    buf.set(this.history, 0);
    buf.set(input, taps - 1);
    const filtered = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      let acc = 0;
      for (let j = 0; j < taps; j++) acc += this.kernel[j] * buf[k + j];
      filtered[k] = acc;
    }
    const out = [];
    while (this.pos < n - 1) {
      const i = Math.floor(this.pos);
      const f = this.pos - i;
      const a = i < 0 ? this.prev : filtered[i];
      out.push(a + (filtered[i + 1] - a) * f);
      this.pos += this.ratio;
    }
    this.pos -= n;
    this.prev = filtered[n - 1];
    this.history = buf.slice(buf.length - (taps - 1));
    return Float32Array.from(out);
  }
}

// Collects resampled audio into frames of a fixed length (100 ms = 1600 samples at 16 kHz).
export class Framer {
  constructor(size, emit) {
    this.size = size;
    this.emit = emit;
    this.buf = new Float32Array(size);
    this.fill = 0;
  }

  push(samples) {
    let off = 0;
    while (off < samples.length) {
      const take = Math.min(this.size - this.fill, samples.length - off);
      this.buf.set(samples.subarray(off, off + take), this.fill);
      this.fill += take;
      off += take;
      if (this.fill === this.size) {
        this.emit(this.buf);
        this.buf = new Float32Array(this.size);
        this.fill = 0;
      }
    }
  }
}
