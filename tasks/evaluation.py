"""Evaluate a model on a task's examples: one pass, no gradients, length-sorted batches.

    from posenc.tasks import get_task, load_task
    from posenc.tasks.evaluation import EvalSet
    spec = get_task("xnli")
    dsd = load_task(spec, splits=["test.de"])
    evalset = EvalSet.build(spec, dsd["test.de"], tokenizer, batch_size=64, language="de")
    evalset.evaluate(model)        # {"accuracy": 0.41, "eval_examples": 747, "loss": 1.05}

Batches hold features of similar length (sorted longest first, so padding is small and an
out-of-memory error shows up on the first batch); outputs are put back in feature order before
the kind turns them into predictions, so one pass serves every metric of the set. Under
Accelerate the loader is sharded across processes and outputs are gathered (padded to a common
length first where it differs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class EvalSet:
    """One labelled evaluation set (a split, or one language of it), tokenised once."""

    spec: object
    examples: object          # datasets.Dataset, the kind's example columns
    features: object          # datasets.Dataset, model features + helper columns
    loader: object            # length-sorted DataLoader over the model columns
    order: np.ndarray         # order[i] = feature index of the i-th row the loader yields
    language: str | None = None
    acc: object = None
    notes: dict = field(default_factory=dict)

    @classmethod
    def build(cls, spec, examples, tokenizer, *, batch_size: int, max_length: int | None = None, acc=None,
              language: str | None = None, cache_dir=None, features=None, labelled: bool = True) -> "EvalSet":
        """Tokenise ``examples`` (or take ready ``features``) and make the sorted loader;
        ``labelled=False`` for test splits (predictions only, no loss)."""
        import datasets
        from torch.utils.data import DataLoader

        from .encoding import tokenize_task

        kind = spec.task_kind
        if language is None and spec.is_multilingual:
            language = spec.train_language  # the English sets of a multilingual task (MLQA's normalisation)
        if features is None:
            features = tokenize_task(spec, datasets.DatasetDict({"eval": examples}), tokenizer, max_length,
                                     training=False, cache_dir=cache_dir)["eval"]
        lengths = np.array([len(x) for x in features["input_ids"]])
        order = np.argsort(-lengths, kind="stable")
        model_inputs = features.select_columns(kind.model_columns(spec, training=False, labelled=labelled))
        loader = DataLoader(model_inputs, batch_size=batch_size, sampler=order.tolist(),
                            collate_fn=kind.collator(tokenizer), generator=torch.Generator())
        if acc is not None:
            loader = acc.prepare(loader)
        return cls(spec, examples, features, loader, order, language, acc)

    def predict(self, model) -> tuple[dict[str, list], float | None]:
        """Per-feature outputs (numpy rows, in feature order) and the mean loss (None if the
        model computes none)."""
        kind, acc = self.spec.task_kind, self.acc
        extra = kind.forward_kwargs(self.spec)
        device = acc.device if acc is not None else next(model.parameters()).device
        rows: dict[str, list] = {}
        loss_sum, loss_rows = 0.0, 0
        was_training = model.training
        model.eval()
        with torch.no_grad():
            for batch in self.loader:
                if acc is None:
                    batch = {k: v.to(device) for k, v in batch.items()}
                with (acc.autocast() if acc is not None else _null()):
                    out = kind.predict_batch(self.spec, model, batch, extra)
                kept = kind.outputs(self.spec, out, batch)
                n = len(batch["input_ids"])
                if acc is not None:
                    kept = {k: acc.pad_across_processes(v, dim=1) if v.dim() > 1 else v for k, v in kept.items()}
                    kept = acc.gather_for_metrics(kept)
                for k, v in kept.items():
                    rows.setdefault(k, []).extend(v.float().cpu().numpy() if v.is_floating_point() else v.cpu().numpy())
                if getattr(out, "loss", None) is not None:
                    loss = out.loss.detach().float().repeat(n)
                    loss = acc.gather_for_metrics(loss) if acc is not None else loss
                    loss_sum += loss.sum().item()
                    loss_rows += len(loss)
        if was_training:
            model.train()
        back = np.empty(len(self.order), dtype=np.int64)
        back[self.order] = np.arange(len(self.order))
        rows = {k: [v[i] for i in back] for k, v in rows.items()}
        return rows, (loss_sum / loss_rows if loss_rows else None)

    def evaluate(self, model) -> dict:
        """The spec's metrics on these examples, plus ``eval_examples`` and ``loss`` (if any)
        and the kind's counts (e.g. ``unpredicted_words``)."""
        kind = self.spec.task_kind
        outputs, loss = self.predict(model)
        preds, notes = kind.predictions(self.spec, self.examples, self.features, outputs)
        metrics = kind.score(self.spec, preds, kind.references(self.spec, self.examples), language=self.language)
        metrics.update(notes)
        if loss is not None:
            metrics["loss"] = loss
        metrics["eval_examples"] = kind.num_examples(self.spec, self.examples)
        return metrics

    def baseline(self, train) -> dict | None:
        """The kind's trivial baseline on these examples."""
        return self.spec.task_kind.baseline(self.spec, train, self.examples, language=self.language)


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False
