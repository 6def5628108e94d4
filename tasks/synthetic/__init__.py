"""Generators of the length-generalisation tasks (``kind: length``), one module each.

Ruoss et al. (2023) / Delétang et al. (2023) encoder tasks — parity_check, even_pairs,
missing_duplicate, reverse_string, duplicate_string, bucket_sort — written from the tasks'
definitions, plus passkey retrieval and word order on real text. See ``base.py`` for the contract.
"""

from .base import GENERATORS, Generator, register_generator
from . import (bucket_sort, duplicate_string, even_pairs, missing_duplicate, parity_check,  # noqa: F401,E402
               passkey, reverse_string, word_order)

__all__ = ["GENERATORS", "Generator", "register_generator"]
