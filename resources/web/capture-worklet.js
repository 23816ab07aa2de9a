// AudioWorklet: microphone audio at the context's rate -> 100 ms frames of 16 kHz float32.
import { Framer, Resampler } from './resampler.js';

class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const target = (options.processorOptions && options.processorOptions.targetRate) || 16000;
    this.resampler = new Resampler(sampleRate, target); // sampleRate: global of this scope
    this.framer = new Framer(target / 10, (frame) => this.port.postMessage(frame, [frame.buffer]));
  }

  process(inputs) {
    const input = inputs[0];
    if (input && input.length > 0) {
      let mono = input[0];
      if (input.length > 1) {
        mono = new Float32Array(input[0].length);
        for (const ch of input) for (let i = 0; i < ch.length; i++) mono[i] += ch[i] / input.length;
      }
      this.framer.push(this.resampler.process(mono));
    }
    return true;
  }
}

registerProcessor('capture-16k', CaptureProcessor);
