"""Experiment configs: validated dataclasses loaded from YAML, with ``key.sub=value`` overrides.

Two kinds share most sections::

    kind: pretrain            kind: finetune
    model: ...                task: rte            # registered task or path to a task YAML
    tokenizer: ...            data: ...
    corpus: ...               model: {from: runs/tiny-pretrain, segment: diet}
    mlm: ...                  train: ...
    train: ...

``load_config(path, overrides)`` returns a :class:`PretrainConfig` or :class:`FinetuneConfig`, or
raises :class:`ConfigError` listing every problem as ``file:line: key: message``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Union

from .schema import FieldProblem, build, to_dict
from .yaml_errors import ConfigError, Problem, apply_override, load_yaml


def _f(default, help: str, **kw):
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help}, **kw)
    return field(default=default, metadata={"help": help}, **kw)


@dataclass
class ModelSection:
    """The encoder: a size preset, overrides of any size field, and the two encoding slots."""

    preset: Literal["tiny", "small", "base"] | None = _f(None, "size preset (posenc.size_preset): tiny, small = BERT_SMALL, base = BERT_BASE; null = PosencConfig defaults (BERT_BASE)")
    position: Union[str, dict, None] = _f(None, "position encoding: a name or {name: ..., **options} (posenc list encodings); null = model default")
    segment: Union[str, dict, None] = _f(None, "segment encoding: a name or {name: ..., **options}; null = model default")
    hidden_size: int | None = _f(None, "overrides the preset")
    num_hidden_layers: int | None = _f(None, "overrides the preset")
    num_attention_heads: int | None = _f(None, "overrides the preset")
    intermediate_size: int | None = _f(None, "overrides the preset")
    max_position_embeddings: int | None = _f(None, "overrides the preset (length of absolute tables)")
    hidden_dropout_prob: float | None = _f(None, "overrides the model default")
    attention_probs_dropout_prob: float | None = _f(None, "overrides the model default")
    attn_implementation: Literal["sdpa", "eager"] = _f("sdpa", "attention kernel")
    config: dict = _f({}, "any other PosencConfig field, e.g. {layer_norm_eps: 1e-7}")
    from_: str | None = _f(None, "initialise from a pre-train run dir, its best/ dir, or a hub id (written `from:`)")

    def size_overrides(self) -> dict:
        keys = ["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                "max_position_embeddings", "hidden_dropout_prob", "attention_probs_dropout_prob"]
        out = {k: getattr(self, k) for k in keys if getattr(self, k) is not None}
        out.update(self.config)
        return out

    def architecture_keys_set(self) -> list[str]:
        """Keys that fix the architecture; with ``from:`` the checkpoint does, so they'd be ignored."""
        keys = ["preset", "position", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "intermediate_size", "max_position_embeddings"]
        return [k for k in keys if getattr(self, k) is not None] + (["config"] if self.config else [])

    def validate(self):
        if self.from_ and self.architecture_keys_set():
            bad = self.architecture_keys_set()
            raise FieldProblem(bad[0], f"cannot be set together with model.from (the checkpoint fixes the "
                                       f"architecture; only dropout and segment may change); remove: {', '.join(bad)}")
        if isinstance(self.position, dict) and "name" not in self.position:
            raise FieldProblem("position", "a mapping needs a 'name' key, e.g. {name: t5, num_buckets: 32}")
        if isinstance(self.segment, dict) and "name" not in self.segment:
            raise FieldProblem("segment", "a mapping needs a 'name' key, e.g. {name: diet}")


@dataclass
class TokenizerSection:
    """Train a tokenizer (``train:``) or load one (``load:``); exactly one of the two."""

    train: Literal["wordpiece", "sentencepiece"] | None = _f(None, "train a WordPiece (tokenizers) or SentencePiece model")
    model_type: Literal["unigram", "bpe"] = _f("unigram", "SentencePiece model: unigram (Kudo 2018) or BPE (Sennrich et al. 2016)")
    load: str | None = _f(None, "load with AutoTokenizer: a path or hub id")
    vocab_size: int = _f(8000, "vocabulary size when training")
    lowercase: bool = _f(True, "lowercase + strip accents (WordPiece) / lowercase (SentencePiece)")
    files: list[str] = _f([], "text files to train on; empty = the corpus files")
    max_lines: int | None = _f(200_000, "train on at most this many lines (enough for a vocabulary)")

    def validate(self):
        if self.train and self.load:
            raise FieldProblem("load", "give either `train:` or `load:`, not both")
        if self.vocab_size < 100:
            raise FieldProblem("vocab_size", f"must be ≥ 100, got {self.vocab_size}")
        if self.model_type != "unigram" and self.train != "sentencepiece":
            raise FieldProblem("model_type", "applies to `train: sentencepiece` only")


@dataclass
class CorpusSection:
    """Pre-training text: local files (plain, .gz, .jsonl), per-language files, or a hub dataset.

    A multilingual corpus (``languages:`` or ``hub`` + ``language_field``) is rebalanced: language l
    with n_l lines gets a share q_l = n_l^α / Σ_k n_k^α of the lines (α = ``sampling_alpha``;
    Conneau & Lample 2019, §3.1), for the tokenizer's training text and the MLM blocks alike."""

    files: list[str] = _f([], "text files or globs; one line = one paragraph, a blank line ends a document; "
                              ".jsonl rows use `text_field`; prefix `posenc:` = bundled (posenc/resources)")
    languages: dict = _f({}, "multilingual corpus instead of `files`: language code -> file or list of files/globs, "
                             "e.g. {en: 'posenc:corpus/multi/eng_Latn.devtest.txt.gz', de: ...}")
    language_field: str | None = _f(None, "hub corpus: the column naming each row's language (makes it multilingual)")
    sampling_alpha: float = _f(0.7, "multilingual sampling exponent α in q_l ∝ n_l^α: 1 = as is, 0 = every language "
                                    "equal; 0.7 as for mBERT, 0.3 for XLM-R")
    hub: str | None = _f(None, "hub dataset name (datasets.load_dataset) instead of files")
    hub_config: str | None = _f(None, "hub dataset config name")
    split: str = _f("train", "hub split")
    text_field: str = _f("text", "column holding the text (.jsonl / hub)")
    max_lines: int | None = _f(None, "use only the first N lines (quick runs); with `languages`: of each language")
    eval_fraction: float = _f(0.05, "held-out fraction of packed blocks for MLM evaluation")
    max_eval_blocks: int | None = _f(512, "cap on held-out blocks (evaluation cost)")
    cache_dir: str | None = _f(None, "datasets cache dir (tokenised blocks are cached there); null = HF default")

    def validate(self):
        if bool(self.files) + bool(self.hub) + bool(self.languages) != 1:
            raise FieldProblem("files", "give corpus `files:`, `languages:` or a `hub:` dataset (exactly one)")
        for lang, pats in self.languages.items():
            if not isinstance(lang, str) or not lang or not pats or not (
                    isinstance(pats, str) or isinstance(pats, list) and all(isinstance(x, str) and x for x in pats)):
                raise FieldProblem(f"languages.{lang}", f"expected a file or a list of files, got {pats!r}")
        if self.language_field and not self.hub:
            raise FieldProblem("language_field", "applies to a `hub:` corpus; local files use `languages:`")
        if not 0.0 <= self.sampling_alpha <= 1.0:
            raise FieldProblem("sampling_alpha", f"must be in [0, 1], got {self.sampling_alpha}")
        if not 0.0 < self.eval_fraction < 0.5:
            raise FieldProblem("eval_fraction", f"must be in (0, 0.5), got {self.eval_fraction}")


@dataclass
class MLMSection:
    """Masked-LM objective (BERT: 15% of tokens; of those 80% [MASK], 10% random, 10% kept)."""

    seq_len: int = _f(128, "tokens per packed block, [CLS] and [SEP] included")
    probability: float = _f(0.15, "fraction of tokens to predict")
    mask_replace_prob: float = _f(0.8, "of the predicted tokens, fraction replaced by [MASK]")
    random_replace_prob: float = _f(0.1, "of the predicted tokens, fraction replaced by a random token")

    def validate(self):
        if not 0.0 < self.probability < 1.0:
            raise FieldProblem("probability", f"must be in (0, 1), got {self.probability}")
        if self.mask_replace_prob + self.random_replace_prob > 1.0:
            raise FieldProblem("random_replace_prob", "mask_replace_prob + random_replace_prob must be ≤ 1")
        if self.seq_len < 8:
            raise FieldProblem("seq_len", f"must be ≥ 8, got {self.seq_len}")


@dataclass
class TrainSection:
    """Optimisation, evaluation and checkpointing. ``batch_size`` is global (per optimizer step),
    so the same config trains the same model on 1 CPU or 64 GPUs."""

    max_steps: int | None = _f(None, "optimizer steps (pre-training: required; fine-tuning: or num_epochs)")
    num_epochs: float | None = _f(None, "fine-tuning: epochs over the train split (instead of max_steps)")
    batch_size: int = _f(32, "global batch size per optimizer step")
    per_device_batch_size: int | None = _f(None, "micro-batch per process; gradient accumulation = batch_size / (this × processes); null = no accumulation")
    lr: float = _f(1e-4, "peak learning rate")
    encoding_lr_scale: float = _f(1.0, "the position and segment encodings' own parameters learn at lr × this (e.g. scalar bias tables that Adam moves by at most lr per step)")
    warmup_ratio: float = _f(0.1, "fraction of steps with linear warm-up (ignored if warmup_steps is set)")
    warmup_steps: int | None = _f(None, "warm-up steps")
    weight_decay: float = _f(0.01, "AdamW weight decay (not applied to biases and LayerNorm)")
    adam_beta1: float = _f(0.9, "")
    adam_beta2: float = _f(0.999, "")
    adam_eps: float = _f(1e-6, "")
    max_grad_norm: float | None = _f(1.0, "gradient clipping; null = off")
    optimizer: Literal["adamw"] = _f("adamw", "only AdamW (LAMB: no maintained package provides it)")
    mixed_precision: Literal["no", "bf16", "fp16"] = _f("no", "bf16 on CPU/GPU that support it; fp16 needs a GPU")
    eval_every: int = _f(100, "evaluate every N optimizer steps (and at the end)")
    save_every: int | None = _f(None, "write a resumable checkpoint every N steps; null = at each evaluation")
    keep_checkpoints: int = _f(1, "resumable checkpoints kept (oldest deleted)")
    log_every: int = _f(10, "append a metrics.jsonl row every N steps")
    log_with: Literal["none", "tensorboard"] = _f("none", "experiment tracker (through Accelerate)")
    max_length: int = _f(128, "fine-tuning: truncate inputs to this many tokens")
    eval_batch_size: int | None = _f(None, "evaluation batch size per process; null = per-device train batch size")

    def validate(self):
        for k in ("batch_size", "eval_every", "log_every", "keep_checkpoints"):
            if getattr(self, k) < 1:
                raise FieldProblem(k, f"must be ≥ 1, got {getattr(self, k)}")
        if self.max_steps is not None and self.max_steps < 1:
            raise FieldProblem("max_steps", f"must be ≥ 1, got {self.max_steps}")
        if self.max_steps is not None and self.num_epochs is not None:
            raise FieldProblem("num_epochs", "give max_steps or num_epochs, not both")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise FieldProblem("warmup_ratio", f"must be in [0, 1), got {self.warmup_ratio}")
        if self.lr <= 0:
            raise FieldProblem("lr", f"must be > 0, got {self.lr}")
        if self.max_length < 8:
            raise FieldProblem("max_length", f"must be ≥ 8 tokens, got {self.max_length}")


@dataclass
class DataSection:
    """Where a fine-tuning task's data comes from (see posenc.tasks.load_task)."""

    source: Literal["bundled", "local", "hub"] = _f("bundled", "bundled slices shipped with posenc, a local dir, or the hub")
    dir: str | None = _f(None, "data directory for source: local")
    max_train_examples: int | None = _f(None, "use only the first N training examples (quick runs)")
    max_eval_examples: int | None = _f(None, "use only the first N examples of each eval split and of each language")
    languages: list[str] | None = _f(None, "multilingual tasks: evaluate only these languages zero-shot (null = all of the task's)")
    skip_missing_languages: bool = _f(False, "record a language whose data is missing or unlabelled as missing in results.json instead of stopping before training (CLI: --skip-missing-languages)")
    cache_dir: str | None = _f(None, "where tokenised evaluation sets are cached (null = OUTPUT_DIR/.cache/features)")


@dataclass
class PretrainConfig:
    """A masked-LM pre-training run (no NSP; full sentences packed to ``mlm.seq_len``)."""

    kind: Literal["pretrain"]
    name: str = _f("pretrain", "run name; the run lives in output_dir/name")
    description: str = _f("", "free text")
    output_dir: str = _f("runs", "parent directory of run directories")
    seed: int = _f(1, "seeds model init, data order and masking")
    model: ModelSection = field(default_factory=ModelSection)
    tokenizer: TokenizerSection = field(default_factory=TokenizerSection)
    corpus: CorpusSection = field(default_factory=CorpusSection)
    mlm: MLMSection = field(default_factory=MLMSection)
    train: TrainSection = field(default_factory=TrainSection)

    def validate(self):
        if self.train.max_steps is None:
            raise FieldProblem("train.max_steps", "pre-training needs max_steps")
        if self.train.num_epochs is not None:
            raise FieldProblem("train.num_epochs", "pre-training counts max_steps, not epochs")
        if not (self.tokenizer.train or self.tokenizer.load):
            raise FieldProblem("tokenizer", "pre-training needs `tokenizer.train: wordpiece|sentencepiece` or `tokenizer.load: <path or name>`")


@dataclass
class FinetuneConfig:
    """Fine-tune on one task of any kind (classification, regression, tagging, span QA) and
    evaluate it, zero-shot in every language for multilingual tasks; retrieval and
    evaluation-only tasks are evaluated without fine-tuning."""

    kind: Literal["finetune"]
    task: str = _f("", "a registered task name (posenc list tasks) or a path to a task YAML")
    name: str = _f("", "run name; empty = <task>-<model>")
    description: str = _f("", "free text")
    output_dir: str = _f("runs", "parent directory of run directories")
    seed: int = _f(1, "seeds the classifier init, data order and dropout")
    data: DataSection = field(default_factory=DataSection)
    model: ModelSection = field(default_factory=ModelSection)
    tokenizer: TokenizerSection = field(default_factory=TokenizerSection)
    train: TrainSection = field(default_factory=TrainSection)

    def validate(self):
        if not self.task:
            raise FieldProblem("task", "required: a task name or a task YAML path")
        if (self.train.max_steps is None) == (self.train.num_epochs is None):
            raise FieldProblem("train.num_epochs", "fine-tuning needs exactly one of max_steps / num_epochs")
        if self.model.from_ is None and not (self.tokenizer.train or self.tokenizer.load):
            raise FieldProblem("tokenizer", "from scratch (no model.from) a tokenizer is needed: `tokenizer.train:` or `tokenizer.load:`")
        if self.data.source == "local" and not self.data.dir:
            raise FieldProblem("data.dir", "source: local needs data.dir")


from .translate_config import TranslateConfig  # noqa: E402  (built from the sections above)

ExperimentConfig = Union[PretrainConfig, FinetuneConfig, TranslateConfig]
KINDS = {"pretrain": PretrainConfig, "finetune": FinetuneConfig, "translate": TranslateConfig}


def config_from_dict(data: dict, locations: dict[str, str] | None = None) -> ExperimentConfig:
    """Validate a plain dict (e.g. from a sweep) into an experiment config, or raise ConfigError."""
    locations = locations if locations is not None else {"": "config"}
    kind = data.get("kind")
    if kind not in KINDS:
        from ..registry import did_you_mean
        hint = did_you_mean(str(kind), list(KINDS)) if kind else ""
        raise ConfigError([Problem(locations.get("kind", locations[""]), "kind",
                                   f"must be one of {sorted(KINDS)}, got {kind!r}.{hint}")])
    obj, problems = build(KINDS[kind], data, locations)
    if problems:
        raise ConfigError(problems)
    return obj


def _load(path, overrides) -> tuple[ExperimentConfig, dict[str, str]]:
    data, locations, problems = load_yaml(path)
    for o in overrides:
        p = apply_override(data, locations, o)
        if p:
            problems.append(p)
    if problems:
        raise ConfigError(problems)
    return config_from_dict(data, locations), locations


def parse_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> ExperimentConfig:
    """Keys, types and ranges only (a sweep's base config, whose encodings each entry replaces)."""
    return _load(path, overrides)[0]


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = (), *,
                inputs: bool = False) -> ExperimentConfig:
    """Load an experiment YAML, apply ``key.sub=value`` overrides and validate it: schema, encodings
    and options, task, lengths against position tables (:mod:`posenc.training.checks`). ``inputs``
    also checks that what it reads exists here (``model.from``, ``tokenizer.load``, data files); the
    CLI asks for that, and every run checks it again before it writes anything. ConfigError lists
    all problems."""
    cfg, locations = _load(path, overrides)
    from .checks import config_problems

    problems = config_problems(cfg, locations, inputs)
    if problems:
        raise ConfigError(problems)
    return cfg


def check_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> list[Problem]:
    """Every problem in an experiment file, for ``posenc validate`` (what :func:`load_config`
    raises; the existence of inputs is left to the run: a ``model.from`` run may be trained first)."""
    try:
        load_config(path, overrides)
    except ConfigError as e:
        return e.problems
    return []


def check_experiment(cfg: ExperimentConfig) -> None:
    """Raise ConfigError if a config built in code (or planned by a sweep) cannot run as it stands."""
    from .checks import config_problems

    problems = config_problems(cfg)
    if problems:
        raise ConfigError(problems)


def config_to_dict(cfg: ExperimentConfig) -> dict:
    """The resolved config as plain data (what RUN_DIR/config.yaml holds)."""
    return to_dict(cfg)
