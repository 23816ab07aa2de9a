"""Whisper's audio encoder over the audio that exists, not a fixed 30 s.

Each window is zero-padded to its length plus ``pad_seconds`` (Whisper needs some silence after
the speech, or it invents text), rounded up to a multiple of ``bucket_seconds`` so shapes repeat,
and at most 30 s. The encoder's positional embedding is sliced to the frames it gets, as the
stock forward adds it to all 1500, except that the last ``tail_seconds`` of the padding take the
positions of the end of a 30 s window: Whisper then knows the window ends there, as it learned
from 30 s windows, and stops instead of continuing the text into the silence. Windows of one
length share an encoder call.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import torch
import torch.nn.functional as F
import whisper.audio
from whisper.model import Whisper

from server_core.config import SAMPLE_RATE
from server_core.engine.window import SAMPLES_PER_FRAME

FULL_SAMPLES = 30 * SAMPLE_RATE


class Encoder:
    def __init__(
        self,
        model: Whisper,
        pad_seconds: float,
        bucket_seconds: float,
        tail_seconds: float = 0.0,
        autocast: torch.dtype | None = None,
    ) -> None:
        self.model = model
        self.autocast = autocast  # products in this dtype; features come back in the model's
        self.pad = int(pad_seconds * SAMPLE_RATE)
        self.bucket = max(SAMPLES_PER_FRAME, int(bucket_seconds * SAMPLE_RATE))
        self.full = pad_seconds >= 30
        self.tail_frames = int(tail_seconds * SAMPLE_RATE) // SAMPLES_PER_FRAME

    def padded_length(self, samples: int) -> int:
        """Samples the encoder sees for a window of ``samples`` (a multiple of one frame)."""
        if self.full:
            return FULL_SAMPLES
        n = math.ceil((samples + self.pad) / self.bucket) * self.bucket
        return min(FULL_SAMPLES, n)

    def mel(self, audio: np.ndarray, length: int) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(audio[:length], dtype=np.float32))
        x = F.pad(x, (0, length - x.shape[0]))
        return whisper.audio.log_mel_spectrogram(x, self.model.dims.n_mels)

    def positions(self, frames: int) -> torch.Tensor:
        table = self.model.encoder.positional_embedding
        tail = self.tail_frames
        if 0 < tail < frames < table.shape[0]:
            return torch.cat([table[: frames - tail], table[table.shape[0] - tail :]])
        return table[:frames]

    @torch.inference_mode()
    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """The stock encoder forward on (B, n_mels, 2 * frames), positions sliced to fit."""
        enc = self.model.encoder
        x = F.gelu(enc.conv1(mel))
        x = F.gelu(enc.conv2(x))
        x = x.permute(0, 2, 1)
        x = (x + self.positions(x.shape[1])).to(x.dtype)
        for block in enc.blocks:
            x = block(x)
        return enc.ln_post(x)

    def encode(self, windows: list[np.ndarray]) -> list[torch.Tensor]:
        """Features (frames, n_audio_state) per window; one encoder call per padded length."""
        groups: dict[int, list[int]] = defaultdict(list)
        for i, w in enumerate(windows):
            groups[self.padded_length(w.shape[0])].append(i)
        out: list[torch.Tensor | None] = [None] * len(windows)
        device = self.model.device
        dtype = next(self.model.parameters()).dtype
        for length, rows in groups.items():
            mels = torch.stack([self.mel(windows[i], length) for i in rows])
            if self.autocast is None:
                features = self.forward(mels.to(device, dtype))
            else:
                with torch.autocast(device.type, dtype=self.autocast):
                    features = self.forward(mels.to(device, dtype)).to(dtype)
            for k, i in enumerate(rows):
                out[i] = features[k]
        return [f for f in out if f is not None]
