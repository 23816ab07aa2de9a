"""The audio window a session's decoder works on, and what was committed for it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SAMPLES_PER_FRAME = 320  # one encoder frame = 20 ms = 2 mel hops


@dataclass
class WindowState:
    """What has been committed for the audio window being decoded."""

    tokens: list[int] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)  # attended encoder frame of each token
    language: str | None = None  # resolved language of this utterance
    hypothesis: list[int] = field(default_factory=list)  # last step's uncommitted tokens
    closed: int = 0  # leading tokens that belong to closed utterances (left context)


@dataclass
class Window:
    """The current utterance's audio, with earlier ones as left context.

    Silences shorter than the segmenter's reset gap stay in, so Whisper hears speech in its
    real rhythm; the committed tokens of the whole window are the decoder's forced prefix.
    """

    start: int  # stream sample of audio[0]
    audio: np.ndarray
    decoded_upto: int = 0  # samples of `audio` the last decoder step saw
    state: WindowState = field(default_factory=WindowState)
    final_end: int = 0  # samples of `audio` covered by closed utterances

    @property
    def end(self) -> int:
        return self.start + int(self.audio.shape[0])

    def append(self, audio: np.ndarray) -> None:
        if audio.size:
            self.audio = np.concatenate([self.audio, audio])

    def cut_front(self, samples: int, n_tokens: int) -> list[int]:
        """Cut ``samples`` of audio and the first ``n_tokens`` tokens; return those tokens."""
        st = self.state
        tokens = st.tokens[:n_tokens]
        del st.tokens[:n_tokens], st.frames[:n_tokens]
        shift = samples // SAMPLES_PER_FRAME
        st.frames = [max(0, f - shift) for f in st.frames]
        st.closed = max(0, st.closed - n_tokens)
        self.audio = self.audio[samples:]
        self.start += samples
        self.decoded_upto = max(0, self.decoded_upto - samples)
        self.final_end = max(0, self.final_end - samples)
        return tokens

    def drop_front(self, samples: int) -> list[int]:
        """Cut ``samples`` of audio (all of it closed utterances); return their tokens.

        The open utterance keeps all its tokens, so what was sent of it stays valid.
        """
        tokens = self.cut_front(samples, self.state.closed)
        self.state.hypothesis = []
        return tokens
