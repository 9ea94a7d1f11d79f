"""The notebook that runs: built from the source, with the student's answers put in by cell id.

Locked and test cells come from ``source/`` (hidden tests included), so edited, deleted or reordered
test cells change nothing; the student's solution cells are taken by nbgrader ``grade_id`` (a
missing one becomes the release stub); the student's own extra cells keep their place after the
graded cell they followed and can never claim to be graded. The files beside a submitted notebook
are copied as plain files only: links and special files are refused with the reason.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
import stat
from pathlib import Path

import nbformat

from helpers import i18n
from helpers.instructor import notebooks as nbu


def merge_submission(
    source: nbformat.NotebookNode, release: nbformat.NotebookNode, student: nbformat.NotebookNode | None
) -> tuple[nbformat.NotebookNode, list[str]]:
    """The notebook to execute, and notes on what had to be restored, in the student's notebook's language."""
    notes: list[str] = []
    lang = i18n.notebook_language(student) if student is not None else i18n.DEFAULT
    release_cells = {nbu.grade_id(c): c for c in release.cells if nbu.grade_id(c)}
    source_ids = {nbu.grade_id(c) for c in source.cells if nbu.grade_id(c)}
    student_solutions: dict[str, object] = {}
    extra_after: dict[str | None, list] = {}
    anchor = None
    seen_ids = []
    for cell in student.cells if student is not None else []:
        gid = nbu.grade_id(cell)
        if gid in source_ids:
            if gid in seen_ids:
                notes.append(i18n.message("duplicate cell {grade_id!r} ignored", lang, grade_id=gid))
                continue
            seen_ids.append(gid)
            anchor = gid
            if nbu.is_solution(cell) and cell.get("cell_type") == "code":
                student_solutions[gid] = cell
            continue
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue
        extra = (
            nbformat.v4.new_code_cell(cell.get("source", ""))
            if cell.get("cell_type") == "code"
            else copy.deepcopy(cell)
        )
        extra.metadata = {}  # a student's cell can never claim to be graded
        extra_after.setdefault(anchor, []).append(extra)

    order = [nbu.grade_id(c) for c in source.cells if nbu.grade_id(c)]
    student_order = [g for g in seen_ids]
    if student is not None:
        missing_tests = [nbu.grade_id(c) for c in nbu.test_cells(source) if nbu.grade_id(c) not in seen_ids]
        if missing_tests:
            notes.append(
                i18n.message("test cells restored from the source: {cells}", lang, cells=", ".join(missing_tests))
            )
        if student_order != [g for g in order if g in student_order]:
            notes.append(i18n.message("cells were reordered; the source order was restored", lang))

    merged = copy.deepcopy(source)
    cells = list(extra_after.get(None, []))
    for cell in source.cells:
        gid = nbu.grade_id(cell)
        if gid is None:
            continue  # free cells belong to the student: their copy is kept, in place
        if nbu.is_solution(cell) and cell.cell_type == "code":
            if gid in student_solutions:
                chosen = copy.deepcopy(cell)
                chosen.source = student_solutions[gid].get("source", "")
            else:
                chosen = copy.deepcopy(release_cells.get(gid, cell))
                if student is not None:
                    notes.append(
                        i18n.message("solution cell {grade_id!r} is missing: graded as unanswered", lang, grade_id=gid)
                    )
        else:
            chosen = copy.deepcopy(cell)
        chosen.outputs = [] if chosen.cell_type == "code" else None
        if chosen.cell_type != "code":
            chosen.pop("outputs", None)
        cells.append(chosen)
        cells.extend(extra_after.get(gid, []))
    merged.cells = cells
    merged.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    return merged, notes


LOOKED_AT = 10_000  # entries beside a notebook that are looked at, at most


def _size(count: int) -> str:
    return f"{count / (1 << 20):.0f} MB" if count >= 1 << 20 else f"{count:,} bytes"


def copy_submitted_files(
    folder: Path, workdir: Path, limit: int, max_total: int = 100 << 20, max_count: int = 100, lang: str | None = None
) -> list[str]:
    """Copy the plain files beside a notebook into the kernel's folder; notes (in ``lang``) on what was
    refused and why.

    At most ``limit`` bytes a file, ``max_total`` bytes and ``max_count`` files in all (in name order):
    the kernel's folder lives in the grader's scratch space, which may be memory.
    """
    notes, folders = [], []
    with os.scandir(folder) as entries:
        names = sorted(entry.name for entry in itertools.islice(entries, LOOKED_AT))
    if len(names) == LOOKED_AT:
        notes.append(
            i18n.message("only the first {count:,} entries beside the notebook were looked at", lang, count=LOOKED_AT)
        )
    copied, total = 0, 0
    for name in names:
        item = folder / name
        if item.suffix == ".ipynb" or name.startswith("."):
            continue
        if item.is_dir() and not item.is_symlink():
            folders.append(name)
            continue
        if copied >= max_count:
            notes.append(
                i18n.message(
                    "{name} not copied: at most {count} files beside the notebook are used",
                    lang,
                    name=name,
                    count=max_count,
                )
            )
            continue
        with contextlib.suppress(OSError):
            if stat.S_ISREG(item.lstat().st_mode) and total + item.lstat().st_size > max_total:
                notes.append(
                    i18n.message(
                        "{name} not copied: the files beside a notebook may hold {limit} in all, and {taken} were "
                        "taken by the files before it",
                        lang,
                        name=name,
                        limit=_size(max_total),
                        taken=_size(total),
                    )
                )
                continue
        try:
            data = nbu.read_plain_file(item, min(limit, max_total - total))
        except nbu.NotebookError as exc:
            notes.append(i18n.message("not copied: {error}", lang, error=exc))
            continue
        with open(workdir / name, "xb") as handle:
            handle.write(data)
        copied, total = copied + 1, total + len(data)
    if folders:
        shown = ", ".join(f"{name}/" for name in folders[:5])
        if len(folders) > 5:
            shown = i18n.message("{names} and {count} more", lang, names=shown, count=len(folders) - 5)
        notes.append(i18n.message("{names} not copied: folders beside the notebook are not used", lang, names=shown))
    return notes
