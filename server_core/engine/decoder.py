"""Whisper's text decoder run over a batch of rows with prompts of different lengths.

The layers are openai-whisper's own modules (their linear layers, layer norms and MLPs); only
the attention arithmetic is done here, because the stock forward takes one causal mask for the
whole batch and returns no attention weights when it uses fused attention. Here:

- rows are left-padded to one length; each row keeps its own positions (0, 1, ...) and its pads
  are masked out of self-attention, so a row decodes exactly as it would alone;
- each row cross-attends to its own audio features (rows of fewer frames are masked);
- attention is fused (scaled_dot_product_attention), except the queries whose alignment-head
  weights AlignAtt reads: those are computed explicitly, for the newest position only;
- logits are computed only for the positions that are used (the last one, and the
  start-of-transcript one for the no-speech probability), not for the whole prompt.

The self-attention keys and values are cached between tokens; nothing outlives one step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from whisper.model import Whisper

from server_core.engine.precision import int8_linear

NEG_INF = float("-inf")
EXACT_CANDIDATES = 16  # tokens per row whose logits are exact when int8 shortlists them


@dataclass
class DecoderState:
    """The batch in flight: cached keys/values, masks and positions, one row per sequence."""

    self_k: list[torch.Tensor]  # per layer (B, heads, T, head_dim)
    self_v: list[torch.Tensor]
    cross_k: list[torch.Tensor]  # per layer (B, heads, F, head_dim)
    cross_v: list[torch.Tensor]
    self_mask: torch.Tensor  # (B, 1, 1, T) additive: 0 for real tokens, -inf for pads
    cross_mask: torch.Tensor  # (B, 1, 1, F) additive: -inf for frames a row does not have
    positions: torch.Tensor  # (B,) position of each row's next token

    @property
    def rows(self) -> int:
        return int(self.positions.shape[0])


@dataclass
class DecoderOutput:
    logits: torch.Tensor  # (B, vocab) at each row's newest position, float32
    alignment: torch.Tensor  # (B, F) mean softmax of the alignment heads, newest query
    extra_logits: torch.Tensor | None = None  # (B, vocab) at the requested earlier positions


class BatchDecoder:
    def __init__(
        self, model: Whisper, alignment_heads: list[tuple[int, int]], int8_logits: bool = False
    ) -> None:
        self.model = model
        self.decoder = model.decoder
        weight = self.decoder.token_embedding.weight
        # the output projection reads the whole vocabulary for every token: int8, or fp32 laid
        # out for a fast matrix-vector product (a transposed view is several times slower)
        self._int8_logits = int8_linear(weight) if int8_logits else None
        self._weight = weight.detach().float() if int8_logits else None
        self._logits_t = None if int8_logits else weight.detach().t().contiguous()
        self.n_head = model.dims.n_text_head
        self.heads_by_layer: dict[int, list[int]] = {}
        for layer, head in alignment_heads:
            self.heads_by_layer.setdefault(layer, []).append(head)
        self.n_alignment_heads = len(alignment_heads)

    # ---- helpers -------------------------------------------------------------------------
    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        return x.view(b, t, self.n_head, d // self.n_head).transpose(1, 2)

    @staticmethod
    def _merge(x: torch.Tensor) -> torch.Tensor:
        b, h, t, dh = x.shape
        return x.transpose(1, 2).reshape(b, t, h * dh)

    def _cross(self, layer: int, block, x: torch.Tensor, state: DecoderState, weights: list):
        """Cross-attention of ``x`` (B, T, d); alignment weights of the last query kept."""
        attn = block.cross_attn
        q = self._split(attn.query(block.cross_attn_ln(x)))
        k, v = state.cross_k[layer], state.cross_v[layer]
        heads = self.heads_by_layer.get(layer)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=state.cross_mask)
        if heads:
            scale = q.shape[-1] ** -0.5
            qh = q[:, heads, -1:, :]  # (B, h, 1, dh)
            scores = (qh @ k[:, heads].transpose(-1, -2)) * scale + state.cross_mask
            weights.append(scores.float().softmax(dim=-1)[:, :, 0, :])  # (B, h, F)
        return attn.out(self._merge(out))

    def _run(
        self, x: torch.Tensor, state: DecoderState, attn_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The blocks over new positions ``x`` (B, T, d), appending to the self-attention cache."""
        weights: list[torch.Tensor] = []
        for layer, block in enumerate(self.decoder.blocks):
            attn = block.attn
            h = block.attn_ln(x)
            q = self._split(attn.query(h))
            k = self._split(attn.key(h))
            v = self._split(attn.value(h))
            if state.self_k[layer].numel():
                k = torch.cat([state.self_k[layer], k], dim=2)
                v = torch.cat([state.self_v[layer], v], dim=2)
            state.self_k[layer], state.self_v[layer] = k, v
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
            x = x + attn.out(self._merge(out))
            x = x + self._cross(layer, block, x, state, weights)
            x = x + block.mlp(block.mlp_ln(x))
        alignment = torch.cat(weights, dim=1).mean(dim=1)  # (B, F)
        return self.decoder.ln(x), alignment

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        if self._int8_logits is not None:
            # row by row: dynamic int8 scales the input by its largest value, and a row's
            # logits must not depend on the rows it shares a batch with (batched = alone)
            x = x.float()
            logits = torch.cat([self._int8_logits(x[i : i + 1]) for i in range(x.shape[0])])
            # int8 only shortlists: the best candidates' logits are computed exactly, so the
            # choice among them is fp32's (int8 alone once wrote "and" for "in")
            top = logits.topk(EXACT_CANDIDATES, dim=-1).indices  # (B, k)
            exact = torch.einsum("bd,bkd->bk", x, self._weight[top])
            return logits.scatter_(1, top, exact)
        return (x @ self._logits_t.to(x.dtype)).float()

    # ---- the two calls -------------------------------------------------------------------
    @torch.inference_mode()
    def start(
        self,
        features: list[torch.Tensor],
        tokens: list[list[int]],
        extra_positions: list[int] | None = None,
    ) -> tuple[DecoderState, DecoderOutput]:
        """Prefill: every row's tokens (prompt and committed text) over its own features.

        ``features[i]`` is (frames_i, n_audio_state); ``extra_positions[i]`` is a position in
        row i whose logits are returned too (the start of transcript, for no-speech).
        """
        device = features[0].device
        dtype = features[0].dtype
        n = len(tokens)
        frames = max(f.shape[0] for f in features)
        audio = torch.zeros(n, frames, features[0].shape[-1], device=device, dtype=dtype)
        cross_mask = torch.zeros(n, 1, 1, frames, device=device, dtype=dtype)
        for i, f in enumerate(features):
            audio[i, : f.shape[0]] = f
            cross_mask[i, ..., f.shape[0] :] = NEG_INF
        length = max(len(t) for t in tokens)
        ids = torch.zeros(n, length, dtype=torch.long, device=device)
        pos = torch.zeros(n, length, dtype=torch.long, device=device)
        pad = torch.zeros(n, length, dtype=torch.bool, device=device)
        for i, row in enumerate(tokens):
            offset = length - len(row)
            ids[i, offset:] = torch.tensor(row, device=device)
            pos[i, offset:] = torch.arange(len(row), device=device)
            pad[i, :offset] = True
        # the embedding first: a profiler that times the decoder from its token embedding on
        # (bench/instrumented_server.py) then counts the cross-attention projections too
        x = self.decoder.token_embedding(ids) + self.decoder.positional_embedding[pos]
        blocks = list(self.decoder.blocks)
        cross_k, cross_v = [], []
        for block in blocks:
            cross_k.append(self._split(block.cross_attn.key(audio)))
            cross_v.append(self._split(block.cross_attn.value(audio)))
        key_mask = torch.zeros(n, 1, 1, length, device=device, dtype=dtype)
        key_mask.masked_fill_(pad[:, None, None, :], NEG_INF)
        causal = torch.full((length, length), NEG_INF, device=device, dtype=dtype).triu_(1)
        attn_mask = key_mask + causal  # (B, 1, T, T)
        # a pad query attends to nothing real; let it see itself so its softmax is defined
        attn_mask[:, 0].diagonal(dim1=-2, dim2=-1).masked_fill_(pad, 0.0)
        empty = torch.zeros(n, self.n_head, 0, audio.shape[-1] // self.n_head, device=device)
        state = DecoderState(
            self_k=[empty.to(dtype) for _ in blocks],
            self_v=[empty.to(dtype) for _ in blocks],
            cross_k=cross_k,
            cross_v=cross_v,
            self_mask=key_mask,
            cross_mask=cross_mask,
            positions=torch.tensor([len(t) for t in tokens], device=device),
        )
        x, alignment = self._run(x.to(dtype), state, attn_mask)
        logits = self._logits(x[:, -1])
        extra = None
        if extra_positions is not None:
            rows = torch.arange(n, device=device)
            cols = torch.tensor(
                [length - len(t) + p for t, p in zip(tokens, extra_positions, strict=True)],
                device=device,
            )
            extra = self._logits(x[rows, cols])
        return state, DecoderOutput(logits, alignment, extra)

    @torch.inference_mode()
    def step(self, state: DecoderState, tokens: torch.Tensor) -> DecoderOutput:
        """One new token per row (``tokens``: (B,)), after what the state holds."""
        x = self.decoder.token_embedding(tokens[:, None])
        x = x + self.decoder.positional_embedding[state.positions][:, None, :]
        dtype = state.cross_k[0].dtype
        state.self_mask = torch.cat(
            [state.self_mask, torch.zeros_like(state.self_mask[..., :1])], dim=-1
        )
        x, alignment = self._run(x.to(dtype), state, state.self_mask)
        state.positions = state.positions + 1
        return DecoderOutput(self._logits(x[:, -1]), alignment)

    @staticmethod
    def keep(state: DecoderState, rows: list[int]) -> None:
        """Drop every row not in ``rows`` (rows that stopped decoding)."""
        index = torch.tensor(rows, device=state.positions.device)
        for cache in (state.self_k, state.self_v, state.cross_k, state.cross_v):
            for layer, t in enumerate(cache):
                cache[layer] = t.index_select(0, index)
        state.self_mask = state.self_mask.index_select(0, index)
        state.cross_mask = state.cross_mask.index_select(0, index)
        state.positions = state.positions.index_select(0, index)
