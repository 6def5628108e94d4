"""Task kinds: one module each, registered in :data:`TASK_KINDS` (see ``base.py`` for the contract).

Adding a kind: write ``tasks/kinds/<kind>.py`` with a :class:`TaskKind` subclass decorated with
``@register_kind`` and import it below; task files then name it as ``kind: <kind>``.
"""

from .base import TASK_KINDS, TaskKind, get_kind, register_kind
from . import classification, regression, tagging, span_qa, retrieval, length, translation  # noqa: F401,E402  (registration)

__all__ = ["TASK_KINDS", "TaskKind", "get_kind", "register_kind"]
