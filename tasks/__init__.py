"""Tasks: declarative YAML specs (``tasks/glue/*.yaml``), loading, tokenization, metrics.

Installed as ``posenc.tasks``. Adding a task is one YAML file (see docs in ``spec.py``)::

    from posenc.tasks import get_task, load_task, tokenize_task, compute_metrics
    spec = get_task("rte")
    dsd = load_task(spec, source="bundled")          # or "local" (data_dir=glue_data/) or "hub"
    enc = tokenize_task(spec, dsd, tokenizer)         # input_ids, token_type_ids, attention_mask, labels
    compute_metrics(spec, predictions, dsd["validation"]["label"])   # {"accuracy": 0.61}
"""

from .encoding import MODEL_COLUMNS, tokenize_task
from .files import TaskDataError
from .glue_submission import write_glue_submission
from .loading import SOURCES, bundled_dir, bundled_tasks, default_splits, load_task
from .registry import TASKS, get_task, list_tasks, register_task, task_path, validate_task_files
from .scoring import compute_metrics, majority_baseline, to_predictions
from .spec import HubSource, LocalSource, LocalSplit, SubmissionFile, TaskSpec, TaskSpecError, load_task_spec

__all__ = [
    "TASKS", "SOURCES", "MODEL_COLUMNS", "TaskSpec", "LocalSource", "LocalSplit", "HubSource", "SubmissionFile",
    "TaskSpecError", "TaskDataError", "list_tasks", "get_task", "register_task", "task_path", "load_task_spec",
    "load_task", "default_splits", "bundled_dir", "bundled_tasks", "tokenize_task", "compute_metrics",
    "to_predictions", "majority_baseline", "validate_task_files", "write_glue_submission",
]
