"""Tasks: declarative YAML specs (``tasks/glue/*.yaml``, ``tasks/xtreme/*.yaml``) over pluggable
task kinds (``tasks/kinds/``: classification, regression, tagging, span_qa, retrieval), loading,
tokenization, metrics and evaluation.

Installed as ``posenc.tasks``. Adding a task is one YAML file (see docs in ``spec.py``); adding a
kind of task is one module in ``tasks/kinds/``::

    from posenc.tasks import get_task, load_task, tokenize_task, compute_metrics
    spec = get_task("rte")
    dsd = load_task(spec, source="bundled")          # or "local" (data_dir=glue_data/) or "hub"
    enc = tokenize_task(spec, dsd, tokenizer)         # input_ids, token_type_ids, attention_mask, labels
    compute_metrics(spec, predictions, dsd["validation"]["label"])   # {"accuracy": 0.61}
"""

from .encoding import MODEL_COLUMNS, tokenize_task
from .files import TaskDataError, TaskDataWarning
from .glue_submission import write_glue_submission
from .kinds import TASK_KINDS, TaskKind, get_kind, register_kind
from .loading import (SOURCES, bundled_dir, bundled_tasks, default_splits, language_split, language_splits,
                      load_task, missing_files, split_language)
from .registry import TASKS, get_task, list_tasks, register_task, task_path, validate_task_files
from .scoring import compute_metrics, majority_baseline, to_predictions, trivial_baseline
from .spec import (HubSource, HubSplit, IdSelect, LocalSource, LocalSplit, SubmissionFile, TaskSpec, TaskSpecError,
                   load_task_spec)

__all__ = [
    "TASKS", "TASK_KINDS", "SOURCES", "MODEL_COLUMNS", "TaskSpec", "TaskKind", "LocalSource", "LocalSplit", "IdSelect",
    "HubSource", "HubSplit", "SubmissionFile", "TaskSpecError", "TaskDataError", "TaskDataWarning", "list_tasks",
    "get_task", "get_kind", "register_kind", "register_task", "task_path", "load_task_spec", "load_task",
    "default_splits", "language_split", "language_splits", "split_language", "missing_files", "bundled_dir",
    "bundled_tasks", "tokenize_task", "compute_metrics", "to_predictions", "majority_baseline", "trivial_baseline",
    "validate_task_files", "write_glue_submission",
]
