"""The models one benchmark compares: posenc encodings and HF peers, parsed from short specs.

A posenc spec is ``POSITION[@ATTENTION]`` where each part is ``name`` or ``name(key=value,...)``
(values parsed as YAML scalars), e.g. ``diet_abs``, ``diet_abs(rank=128,sharing=none)``,
``absolute@linformer(k=32)``. Peers are HF models named in :mod:`posenc.bench.peers` and are
labelled ``hf:NAME``. Every model is built at the same shape with ``max_position_embeddings``
covering the longest benchmarked length.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from .peers import build_peer

_SPEC = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(?:\((.*)\))?\s*$")


def parse_named(text: str) -> dict[str, Any]:
    """``name(key=value,...)`` → ``{"name": name, key: value, ...}``."""
    m = _SPEC.match(text)
    if not m:
        raise ValueError(f"cannot parse {text!r}: expected NAME or NAME(key=value,...)")
    spec: dict[str, Any] = {"name": m.group(1)}
    for item in filter(None, (s.strip() for s in (m.group(2) or "").split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"cannot parse option {item!r} in {text!r}: expected key=value")
        spec[key.strip()] = yaml.safe_load(value.strip())
    return spec


@dataclass
class BenchCase:
    """One model of the comparison and how to build it."""

    label: str
    impl: str  # "posenc" or "hf"
    position: dict | None = None
    attention: dict | None = None
    peer: str | None = None
    head: str = "encoder"  # "encoder" (the base model) or "mlm" (PosencForMaskedLM with masked labels)
    mlm_logits: str = "masked"  # with head "mlm": "masked" (only labelled tokens projected) or "all"
    built: dict = field(default_factory=dict)  # model, kernel, notes, token_types after build()

    def with_mlm_head(self, logits: str) -> "BenchCase":
        """This posenc case as a masked-LM pre-training step: ``logits`` "masked" (the default path) or
        "all" (every token projected onto the vocabulary, as before the masked-only head)."""
        suffix = "+mlm" if logits == "masked" else "+mlm(all logits)"
        return dataclasses.replace(self, label=self.label + suffix, head="mlm", mlm_logits=logits, built={})

    def build(self, shape, max_len: int, segment: Any, attn_implementation: str = "sdpa") -> dict:
        """Instantiate the model (train mode) and record the kernel it will run."""
        if self.impl == "hf":
            if self.head != "encoder":
                raise ValueError(f"{self.label}: HF peers are timed as base encoders; drop them (--peers '') "
                                 f"when timing the MLM head")
            peer = build_peer(self.peer, shape, max_len)
            self.built = dict(model=peer.model.train(), kernel=peer.kernel, notes=peer.notes,
                              token_types=peer.uses_token_types, counterpart=peer.counterpart)
            return self.built
        from ..modeling import PosencConfig, PosencForMaskedLM, PosencModel

        cfg = PosencConfig(**shape.sizes(), max_position_embeddings=max_len, position=copy.deepcopy(self.position),
                           segment=copy.deepcopy(segment), **({"attention": self.attention} if self.attention else {}))
        cfg._attn_implementation = attn_implementation
        model = (PosencForMaskedLM(cfg) if self.head == "mlm" else PosencModel(cfg)).train()
        encoder = model.posenc if self.head == "mlm" else model
        self.built = dict(model=model, kernel=encoder.attention_kernel, notes=encoder.position_encoding.eager_reason or "",
                          token_types=True, counterpart=self.position["name"])
        return self.built

    def release(self) -> None:
        self.built = {}


def parse_case(text: str) -> BenchCase:
    """A posenc spec (``diet_abs(rank=128)@linformer(k=32)``) or a peer (``hf:t5``)."""
    text = text.strip()
    if text.startswith("hf:"):
        from .peers import PEERS

        name = text[3:]
        PEERS.get(name)  # unknown peer: error with close matches
        return BenchCase(label=f"hf:{name}", impl="hf", peer=name)
    pos_text, _, attn_text = text.partition("@")
    position = parse_named(pos_text)
    attention = parse_named(attn_text) if attn_text else None
    from ..encodings import normalize_spec

    normalize_spec("position", position)  # validate now (close-match errors), not mid-benchmark
    return BenchCase(label=text.replace(" ", ""), impl="posenc", position=position, attention=attention)


def _default_encodings() -> tuple[str, ...]:
    """``absolute`` (the baseline of every ratio) and each registered encoding that acts in attention
    (the ones with a cost to measure; input-only encodings cost what ``absolute`` costs)."""
    from ..encodings import POSITION_ENCODINGS

    acting = [n for n in POSITION_ENCODINGS.names() if POSITION_ENCODINGS.get(n).replaces_input_positions
              and POSITION_ENCODINGS.get(n).reads_positions]
    return ("absolute", *acting)


DEFAULT_ENCODINGS = _default_encodings()
DEFAULT_PEERS = ("bert", "deberta_v2", "t5", "roformer")
