"""A notebook, a profile and a date in; a :class:`~helpers.report.model.Report` and its files out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from helpers import i18n
from helpers import notebook_cells as nbu
from helpers.report import check as checking
from helpers.report import labels as lbl
from helpers.report import notebook as rnb
from helpers.report import profile as prof
from helpers.report import run
from helpers.report.model import CoverField, Report, Step

FORMATS = ("pdf", "docx", "html")
COVER = (
    ("course", "teacher"),
    ("title",),
    ("name", "student_number"),
    ("class", "date"),
    ("email", "score"),
    ("grade", "signature"),
)
TEACHER_FIELDS = ("grade", "signature")  # left blank for the teacher, on paper; never flagged


def source_notebook(root: Path, assignment: str):
    return nbu.read_notebook(root / "source" / assignment / f"{assignment}.ipynb")


def prose_notebook(root: Path, assignment: str, nb, lang: str):
    """The notebook whose prose (title, purpose, 实验原理) the report quotes in ``lang``, or None.

    The student's notebook when it is the ``lang`` edition; else the ``lang`` edition that
    ``course release`` builds from the catalogue (``release_<lang>/``), when the catalogue translates
    every string; else None (the report then takes the title and purpose from
    ``labels.ASSIGNMENT_TEXT``, and the explanations from the student's notebook).
    """
    if i18n.notebook_language(nb) == lang:
        return nb
    # The catalogue tools load Babel: only where a report in another language is made.
    from helpers.instructor import translations

    catalogue = translations.catalogue_path(root, assignment, lang)
    edition = translations.edition_path(root, assignment, lang)
    if not catalogue.is_file() or not edition.is_file():
        return None
    if translations.unfinished(translations.read_catalogue(catalogue, lang)):
        return None
    return nbu.read_notebook(edition)


def make_report(
    root: Path,
    notebook_path: Path,
    assignment: str,
    *,
    lang: str | None = None,
    date: dt.date | None = None,
    profile_path: Path | None = None,
    rerun: bool = False,
    check=checking.full_check,
    execute=None,
) -> Report:
    """The report of the notebook at ``notebook_path``; its file is only read.

    ``lang`` and ``date`` default to the profile's, then to Chinese and today. The notebook is run
    (on a copy, in fast mode) when it was never run, when some of its code cells never ran (Run All
    stopped at an error: the report would have steps without output), or always with ``rerun``; the
    report then says so. ``check`` is the full check and ``execute`` the run (tests pass stand-ins).
    """
    notebook_path = Path(notebook_path)
    nb = nbu.read_notebook(notebook_path)
    profile = prof.load(prof.find(root, notebook_path, profile_path))
    lang = lang or profile.language or "zh"
    if lang not in prof.LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(prof.LANGUAGES)}, not {lang!r}")
    date = date or profile.date or dt.date.today()
    text = lbl.labels(lang)
    source = source_notebook(root, assignment)

    functions, grading_notes = checking.points_by_function(check(root, assignment, notebook_path), source)
    flags = []
    holes = run.never_ran(nb)
    run_reason = "rerun" if rerun else "never_run" if not run.was_run(nb) else "holes" if holes else ""
    ran_fast = bool(run_reason)
    shown = (execute or run.execute)(nb, notebook_path) if ran_fast else nb

    steps = rnb.steps(shown)
    written = {s.function for s in steps if s.function}
    for step in steps:
        if step.function:
            step.points = functions.get(step.function)
    for name, points in functions.items():
        if name not in written:  # its solution cell was deleted: it still appears, with its 0 points
            steps.append(Step(headings=[(3, f"`{name}`")], function=name, missing=True, points=points))
    number = 0
    for step in steps:
        caption = step_title(step, lang)
        for figure in step.figures:
            number += 1
            figure.number, figure.caption = number, text["figure_caption"].format(number=number, step=caption)

    score = sum(p.points for p in functions.values())
    max_score = sum(p.max_points for p in functions.values())
    prose = prose_notebook(root, assignment, nb, lang)
    stand_in = lbl.ASSIGNMENT_TEXT.get(lang, {}).get(assignment, {}) if prose is None else {}
    title = stand_in.get("title") or rnb.title(prose if prose is not None else nb) or assignment
    purpose = stand_in.get("purpose") or rnb.purpose(prose if prose is not None else nb)
    values = {
        **profile.values,
        "title": title,
        "date": date.isoformat(),
        "score": text["score_value"].format(score=score, max_score=max_score),
    }
    missing = set(profile.missing())
    cover = [
        CoverField(key, text[key], values.get(key, ""), key in missing and key not in TEACHER_FIELDS)
        for row in COVER
        for key in row
    ]

    # The flags, said on the command line, in the report's language.
    if not profile.found:
        flags.append(
            i18n.message(
                "no profile at {path}: run `course profile` to make one; the cover's fields are left blank and flagged",
                lang,
                path=profile.path,
            )
        )
    elif missing:
        blank = ", ".join(sorted(missing, key=prof.KEYS.index))
        flags.append(i18n.message("{path}: blank on the cover: {fields}", lang, path=profile.path, fields=blank))
    sections = rnb.student_sections(nb)
    for kind, section in sections.items():
        cell = lbl.SECTION_CELLS[kind]
        if not section.found:
            flags.append(
                i18n.message(
                    "the notebook has no \u201c{cell}\u201d cell (copy it from release/); its section is empty",
                    lang,
                    cell=cell,
                )
            )
        elif section.empty:
            flags.append(
                i18n.message("\u201c{cell}\u201d is empty: write it at the end of the notebook", lang, cell=cell)
            )
    unwritten = [s.function for s in steps if s.unwritten or s.missing]
    if unwritten:
        flags.append(i18n.message("not written yet (0 points): {functions}", lang, functions=", ".join(unwritten)))

    return Report(
        lang=lang,
        assignment=assignment,
        title=values["title"],
        date=date,
        cover=cover,
        purpose=purpose,
        principles=rnb.principles(prose if prose is not None else nb),
        environment=_environment(),
        steps=steps,
        score=score,
        max_score=max_score,
        conclusions=sections["conclusions"],
        questions=sections["questions"],
        author=profile.get("name"),
        profile_found=profile.found,
        profile_path=_shown_path(profile.path, root),
        ran_fast=ran_fast,
        run_reason=run_reason,
        never_ran=len(holes),
        never_ran_from=_heading_above(nb, holes[0], lang) if holes else "",
        notes=grading_notes,
        flags=flags,
    )


def _heading_above(nb, index: int, lang: str) -> str:
    """The last heading of the markdown cells above cell ``index`` (the step a never-run cell belongs to)."""
    for cell in reversed(nb.cells[:index]):
        if cell.cell_type == "markdown" and not nbu.grade_id(cell) and rnb.headings(cell.source):
            return lbl.heading_text(rnb.headings(cell.source)[-1][1], lang)
    return ""


def _shown_path(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return Path(path).name


def _environment():
    from helpers.report import environment

    return environment.detect()


def step_title(step: Step, lang: str) -> str:
    """The most specific heading of a step that is not an "Exercise N" line, or the function's name."""
    plain = [text for _, text in step.headings if not rnb.exercise_heading(text.replace("`", ""))]
    if plain:
        return lbl.heading_text(plain[-1], lang)
    return step.function or ""


def render(report: Report, fmt: str) -> bytes:
    if fmt == "html":
        from helpers.report import to_html

        return to_html.render(report).encode("utf-8")
    if fmt == "docx":
        from helpers.report import to_docx

        return to_docx.render(report)
    if fmt == "pdf":
        from helpers.report import to_pdf

        return to_pdf.render(report)
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")


def output_paths(notebook_path: Path, lang: str, formats: list[str], out: Path | None = None) -> dict[str, Path]:
    """Where each format goes: ``<notebook>_report_<lang>.<ext>`` beside the notebook by default.

    ``out`` is the file for one format; for several it is a folder when it has no suffix (or is one),
    else its suffix is replaced by each format's.
    """
    notebook_path = Path(notebook_path)
    stem = f"{notebook_path.stem}_report_{lang}"
    if out is None:
        return {fmt: notebook_path.parent / f"{stem}.{fmt}" for fmt in formats}
    out = Path(out)
    if out.is_dir() or (not out.suffix and len(formats) > 1):
        return {fmt: out / f"{stem}.{fmt}" for fmt in formats}
    if len(formats) == 1:
        return {formats[0]: out}
    return {fmt: out.with_suffix(f".{fmt}") for fmt in formats}
