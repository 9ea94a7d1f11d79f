"""The variant catalogue: edits of the source solutions, kept beside each source notebook, never released.

``source/<id>/wrong_variants.json`` holds realistic mistakes (the diagnosis names them; each says
which test cells it ``fails``, with an ``explanation`` and a ``hint``), ``correct_variants.json``
correct answers written another way. Both have the same format::

    {"variants": [{"name": ..., "cell": <grade_id of a solution cell>,
                   "replace": [[old, new], ...]  or  "source": <the whole answer>,
                   "fails": [<grade_id of a test cell>, ...]}, ...],
     "partial_student": [<names of the demo class's partial student>]}

This module alone reads that format: the demo class (:mod:`helpers.instructor.demo`), the diagnosis
(:mod:`helpers.instructor.diagnosis`) and the tests build answers through it.
"""

from __future__ import annotations

import json
from pathlib import Path

from helpers.instructor import notebooks as nbu
from helpers.instructor.settings import course_paths

VARIANT_FILES = {"wrong": "wrong_variants.json", "correct": "correct_variants.json"}


def load_variants(root: Path, assignment: str, kind: str = "wrong") -> dict:
    """``source/<id>/wrong_variants.json`` (realistic mistakes) or ``correct_variants.json`` (correct
    answers written another way); an empty catalogue where the file does not exist."""
    path = course_paths(root).path("source", assignment) / VARIANT_FILES[kind]
    return json.loads(path.read_text()) if path.is_file() else {"variants": [], "partial_student": []}


def all_variants(root: Path, assignment: str) -> dict[str, dict]:
    """Every variant of both files by name, each with its ``fails`` (empty for a correct one)."""
    found = {}
    for kind in VARIANT_FILES:
        for variant in load_variants(root, assignment, kind)["variants"]:
            found[variant["name"]] = dict(variant, fails=variant.get("fails", []))
    return found


def strip_markers(source: str) -> str:
    """A solution cell's code without nbgrader's solution markers."""
    lines = [line for line in source.splitlines() if line.strip() not in (nbu.BEGIN_SOLUTION, nbu.END_SOLUTION)]
    return "\n".join(lines)


def apply_variant(assignment: str, answer: str, variant: dict) -> str:
    """A solution cell's answer (markers stripped) with the variant's edits: its ``source``, or its ``replace``."""
    text = variant["source"] if "source" in variant else answer
    for old, new in variant.get("replace", []):
        if old not in text:
            raise ValueError(
                f"{assignment}: variant {variant['name']!r} expects {old!r} in solution cell "
                f"{variant['cell']!r}; update wrong_variants.json after editing the source."
            )
        text = text.replace(old, new)
    return text
