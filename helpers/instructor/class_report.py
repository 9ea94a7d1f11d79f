"""``course class-report``: one page per assignment for the instructor, from the graded results only.

Everything comes from ``autograded/<student>/<id>/grade.json`` (:class:`helpers.instructor.verdict.
Result`) and the submitted folders; nothing is typed in. Per assignment it writes, under
``class_report/<id>/``:

* ``index.html``, self-contained (figures embedded), and the figures as PNG files;
* ``students.csv`` (score, status, reason, seconds), ``cells.csv`` (share passed, discrimination)
  and ``mistakes.csv`` (catalogue name, function, count, students).

The page, its figures and the reasons it gives are in the course's language (``COURSE_LANG``, else
``c.CourseGrader.language`` of nbgrader_config.py, as ``course grade``'s table), through the package's
catalogue. The CSV files' column names and status values stay English identifiers: they are read by
programs (spreadsheets' formulas, scripts), whichever edition the class has.

Discrimination is item analysis's two usual measures: the point-biserial correlation of passing the
cell with the score on the other cells, and the upper-lower index (share passed among the top 27% of
students minus the share among the bottom 27%, ranked by total score).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import io
import statistics
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from helpers import i18n
from helpers.i18n import N_
from helpers.instructor.batch import GRADE_FILE
from helpers.instructor.outputs import atomic_write, csv_text
from helpers.instructor.settings import Settings
from helpers.instructor.verdict import Result, restart_note
from helpers.paths import course_command

LOW_DISCRIMINATION = 0.2  # under this, a cell hardly separates strong from weak students


@dataclass
class CellStats:
    grade_id: str
    max_points: float
    graded: int
    passed: int
    point_biserial: float | None
    upper_lower: float | None

    @property
    def share_passed(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


@dataclass
class ClassData:
    assignment: str
    results: dict[str, Result]  # student -> graded result
    absent: dict[str, str] = field(default_factory=dict)  # student -> why there is no graded result

    @property
    def graded(self) -> list[Result]:
        return [r for r in self.results.values() if r.status == "graded"]


def load_class(settings: Settings, assignment: str, lang: str | None = None) -> ClassData:
    """Every student's ``grade.json`` for ``assignment``; submitted folders without one are listed as absent,
    with the reason in ``lang``."""
    data = ClassData(assignment, {})
    graded_root = settings.folder("autograded")
    students = set(settings.students())
    if graded_root.is_dir():
        students |= {p.name for p in graded_root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    for student in sorted(students):
        path = settings.path("autograded", assignment, student) / GRADE_FILE
        if path.is_file():
            try:
                data.results[student] = Result.from_json(path.read_text())
            except (ValueError, TypeError) as exc:
                data.absent[student] = i18n.message("its grade.json cannot be read ({error})", lang, error=exc)
        elif settings.path("submitted", assignment, student).is_dir():
            data.absent[student] = i18n.message(
                "submitted but not graded yet (run {course} grade)", lang, course=course_command()
            )
    return data


# ------------------------------------------------------------------ the numbers


def cell_stats(data: ClassData) -> list[CellStats]:
    graded = data.graded
    if not graded:
        return []
    order = [c.grade_id for c in graded[0].cells]
    stats = []
    for gid in order:
        rows = [(r, next((c for c in r.cells if c.grade_id == gid), None)) for r in graded]
        rows = [(r, c) for r, c in rows if c is not None]
        passed = [1.0 if c.points >= c.max_points and c.max_points > 0 else 0.0 for _, c in rows]
        rest = [r.score - c.points for r, c in rows]
        stats.append(
            CellStats(
                gid,
                rows[0][1].max_points if rows else 0.0,
                len(rows),
                int(sum(passed)),
                point_biserial(passed, rest),
                upper_lower_index(passed, [r.score for r, _ in rows]),
            )
        )
    return stats


def point_biserial(item: list[float], rest: list[float]) -> float | None:
    """Correlation of a 0/1 item with the score on the other items; None where either does not vary."""
    n = len(item)
    if n < 3:
        return None
    mi, mr = sum(item) / n, sum(rest) / n
    si = sum((x - mi) ** 2 for x in item)
    sr = sum((y - mr) ** 2 for y in rest)
    if si == 0 or sr == 0:
        return None
    return sum((x - mi) * (y - mr) for x, y in zip(item, rest)) / (si * sr) ** 0.5


def upper_lower_index(item: list[float], totals: list[float], share: float = 0.27) -> float | None:
    """Share passed in the top ``share`` of students by total score minus the share in the bottom one."""
    n = len(item)
    k = max(1, round(share * n))
    if n < 4:
        return None
    ranked = sorted(range(n), key=lambda i: totals[i])
    low, high = ranked[:k], ranked[-k:]
    return sum(item[i] for i in high) / k - sum(item[i] for i in low) / k


def mistakes(data: ClassData, function_of: dict[str, str]) -> list[tuple[str, str, list[str]]]:
    """(function, catalogue name, students) for every named mistake, most frequent first."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for student, result in data.results.items():
        for cell in result.cells:
            if cell.mistake:
                found[(function_of.get(cell.mistake, cell.grade_id), cell.mistake)].add(student)
    return sorted(((f, m, sorted(s)) for (f, m), s in found.items()), key=lambda t: (-len(t[2]), t[0], t[1]))


# What happened to a notebook (problems()' "what"), English identifiers; the page shows them translated.
WHAT = {
    "not graded": N_("not graded"),
    "missing": N_("missing"),
    "refused": N_("refused"),
    "timed out": N_("timed out"),
    "crashed": N_("crashed"),
    "not run": N_("not run"),
    "flagged": N_("flagged"),
}
# A grade.json's status, as the page shows it.
STATUS = {"graded": N_("graded"), "missing": N_("missing"), "invalid": N_("invalid"), **WHAT}


def problems(data: ClassData, lang: str | None = None) -> list[tuple[str, str, str]]:
    """(student, what, reason): notebooks missing, refused, timed out, crashed, or not graded; submissions
    flagged as perhaps not the student's own (:mod:`helpers.instructor.provenance`). ``what`` is a key of
    :data:`WHAT`."""
    rows = [(s, "not graded", why) for s, why in data.absent.items()]
    for student, result in sorted(data.results.items()):
        if result.status != "graded":
            rows.append((student, "missing" if result.status == "missing" else "refused", result.reason))
            continue
        for cell in result.cells:
            if cell.status in ("timeout", "kernel died", "not run"):
                what = {"timeout": "timed out", "kernel died": "crashed", "not run": "not run"}[cell.status]
                rows.append((student, what, f"{cell.grade_id}: {cell.message or cell.status}"))
        if result.restarts:
            rows.append((student, "crashed", restart_note(result.restarts, lang)))
    for student, result in sorted(data.results.items()):
        rows += [(student, "flagged", flag) for flag in result.flags]
    return rows


# ------------------------------------------------------------------ the figures

# Student ids may be Chinese: the charts fall back to the first of these fonts that is installed.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)


@functools.cache  # once a process: where no CJK font is installed, the system's font folders are not walked per figure
def _cjk_fonts_known(font_manager) -> frozenset[str]:
    """The installed fonts of CJK_FONTS that matplotlib knows. Its font list is cached on first use: a CJK
    font installed after that is not in it, so the system's font files named for CJK are added once then."""
    installed = {font.name for font in font_manager.fontManager.ttflist}
    if not installed & set(CJK_FONTS):
        for path in font_manager.findSystemFonts():
            if any(word in Path(path).name.lower() for word in ("cjk", "wqy", "sourcehansans", "simhei", "msyh")):
                with contextlib.suppress(Exception):  # a file matplotlib cannot read: that font is not used
                    font_manager.fontManager.addfont(path)
        installed = {font.name for font in font_manager.fontManager.ttflist}
    return frozenset(installed & set(CJK_FONTS))


def _figure_png(draw, height: float = 3.4) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    installed = _cjk_fonts_known(font_manager)
    family = ["DejaVu Sans", *(name for name in CJK_FONTS if name in installed)]
    with plt.rc_context({"font.family": family}), warnings.catch_warnings():
        # Without a CJK font a Chinese id is drawn as boxes; the page's table beside the chart has it as text.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig, ax = plt.subplots(figsize=(7.5, height), dpi=110)
        draw(ax)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
    return buffer.getvalue()


def draw_score_histogram(ax, scores: list[float], max_score: float, lang: str | None = None) -> None:
    """Students per tenth of the maximum score: whole students on the count axis."""
    from matplotlib.ticker import MaxNLocator

    bins = [max_score * k / 10 for k in range(11)] if max_score > 0 else 10
    ax.hist(scores, bins=bins, color="#4C72B0", edgecolor="white")
    if scores:
        mean, median = statistics.mean(scores), statistics.median(scores)
        ax.axvline(mean, color="#C44E52", label=i18n.message("mean {value:.1f}", lang, value=mean))
        ax.axvline(
            median, color="#55A868", linestyle="--", label=i18n.message("median {value:.1f}", lang, value=median)
        )
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if max_score > 0:
        ax.set_xlim(0, max_score)
        ax.set_xticks(bins)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
    ax.set_xlabel(i18n.message("score (out of {max_score:g})", lang, max_score=max_score))
    ax.set_ylabel(i18n.message("students", lang))
    ax.set_title(i18n.message("Score distribution", lang))


def score_histogram(scores: list[float], max_score: float, lang: str | None = None) -> bytes:
    return _figure_png(lambda ax: draw_score_histogram(ax, scores, max_score, lang))


def cells_figure(stats: list[CellStats], lang: str | None = None) -> bytes:
    def draw(ax):
        names = [s.grade_id for s in stats]
        ax.barh(names, [100 * s.share_passed for s in stats], color="#4C72B0")
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel(i18n.message("% of graded students who passed", lang))
        ax.set_title(i18n.message("Graded cells", lang))
        ax.tick_params(axis="y", labelsize=8)

    return _figure_png(draw)


MAX_TIME_BARS = 40  # the time chart names this many students at most: the slowest
MAX_NAME_CHARS = 18  # a longer student id is shortened on the chart (the table below it has it whole)


def short_name(student: str, limit: int = MAX_NAME_CHARS) -> str:
    return student if len(student) <= limit else student[: limit - 1] + "\u2026"


def grading_times(results: dict[str, Result]) -> list[tuple[str, float]]:
    """(student, seconds) of the graded notebooks, slowest first, at most MAX_TIME_BARS of them."""
    rows = sorted(((s, r.seconds) for s, r in results.items() if r.status == "graded"), key=lambda t: (-t[1], t[0]))
    return rows[:MAX_TIME_BARS]


def draw_grading_times(ax, results: dict[str, Result], lang: str | None = None) -> None:
    """One named horizontal bar per graded notebook, slowest at the top."""
    rows = grading_times(results)
    graded = sum(r.status == "graded" for r in results.values())
    ax.barh(range(len(rows)), [t for _, t in rows], color="#8172B2")
    ax.set_yticks(range(len(rows)), [short_name(s) for s, _ in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # slowest first, no tick beyond the bars
    ax.set_xlim(left=0)
    ax.set_xlabel(i18n.message("seconds to grade", lang))
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(
        i18n.message(
            "Time each notebook took to grade (the {shown} slowest of {graded})", lang, shown=len(rows), graded=graded
        )
        if graded > len(rows)
        else i18n.message("Time each notebook took to grade", lang)
    )


def seconds_figure(results: dict[str, Result], lang: str | None = None) -> bytes:
    bars = len(grading_times(results))
    return _figure_png(lambda ax: draw_grading_times(ax, results, lang), height=max(2.2, 1.0 + 0.24 * bars))


# ------------------------------------------------------------------ the page and the CSV files


# The page's headings, column names and fixed sentences (msgids of the catalogue), by key; the page shows
# them in its language.
PAGE_TEXT = {
    "scores": N_("Score distribution"),
    "students": N_("Students"),
    "students_intro": N_(
        "Every student with a submission, by id; highlighted rows were not graded to the end or are flagged "
        "(see below)."
    ),
    "student": N_("student"),
    "score": N_("score"),
    "status": N_("status"),
    "seconds": N_("seconds"),
    "flags": N_("flags"),
    "cells": N_("Graded cells"),
    "cell": N_("cell"),
    "points": N_("max points"),
    "passed": N_("passed"),
    "point_biserial": N_("point-biserial"),
    "upper_lower": N_("upper-lower 27%"),
    "mistakes": N_("Named mistakes"),
    "mistakes_intro": N_("The catalogue's mistakes that the grader recognised, by function, most frequent first."),
    "mistake": N_("mistake"),
    "students_column": N_("students"),
    "who": N_("who"),
    "no_mistake": N_("No mistake was named."),
    "problems": N_("Notebooks that did not run through, submissions flagged"),
    "problems_intro": N_(
        "Flagged: graded, but the exchange says the submission may not be the student's own (a timestamp in the "
        "future, or written by another Unix user)."
    ),
    "what": N_("what"),
    "reason": N_("reason"),
    "no_problem": N_("None: every notebook was graded to its end, and none is flagged."),
    "time": N_("Time to grade"),
}


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def write_assignment(settings: Settings, assignment: str, out_dir: Path, lang: str | None = None) -> Path:
    """Write ``out_dir/<assignment>/`` (page, figures, CSV) in ``lang`` (default: the course's language, see
    :func:`course_language`); returns the page's path."""
    from helpers.instructor import diagnosis
    from helpers.instructor import notebooks as nbu

    lang = lang or course_language(settings)
    data = load_class(settings, assignment, lang)
    folder = out_dir / assignment
    folder.mkdir(parents=True, exist_ok=True)
    catalogue = {e["name"]: e for e in diagnosis.load_catalogue(settings.root, assignment)}
    function_of = {name: e["cell"] for name, e in catalogue.items()}
    source = settings.notebook("source", assignment)
    descriptions = {}  # each test cell's one-line docstring (test cells are the same, English, in every edition)
    if source.is_file():
        nb = nbu.read_notebook(source)
        descriptions = {nbu.grade_id(c): nbu.docstring_line(c.source) for c in nbu.test_cells(nb)}
    graded = data.graded
    scores = [r.score for r in graded]
    max_score = max((r.max_score for r in graded), default=0.0)
    stats = cell_stats(data)
    named = mistakes(data, function_of)
    issues = problems(data, lang)

    figures = {"scores.png": score_histogram(scores, max_score, lang)}
    if stats:
        figures["cells.png"] = cells_figure(stats, lang)
    if graded:
        figures["seconds.png"] = seconds_figure(data.results, lang)
    for name, png in figures.items():
        (folder / name).write_bytes(png)

    # Every cell through outputs.csv_text: a student id such as "=2+5" is text there, never a formula.
    # The column names and statuses are English identifiers in every language (programs read them).
    students_rows = [["student", "score", "max_score", "status", "seconds", "reason", "mistakes", "flags"]]
    students_rows += [
        [
            student,
            r.score,
            r.max_score,
            r.status,
            r.seconds,
            r.reason,
            " ".join(c.mistake for c in r.cells if c.mistake),
            "; ".join(r.flags),
        ]
        for student, r in sorted(data.results.items())
    ]
    students_rows += [[student, "", "", "not graded", "", why, "", ""] for student, why in sorted(data.absent.items())]
    atomic_write(folder / "students.csv", csv_text(students_rows))
    cells_rows = [["grade_id", "max_points", "graded", "passed", "share_passed", "point_biserial", "upper_lower_27"]]
    cells_rows += [
        [
            s.grade_id,
            s.max_points,
            s.graded,
            s.passed,
            round(s.share_passed, 4),
            "" if s.point_biserial is None else round(s.point_biserial, 4),
            "" if s.upper_lower is None else round(s.upper_lower, 4),
        ]
        for s in stats
    ]
    atomic_write(folder / "cells.csv", csv_text(cells_rows))
    mistakes_rows = [["function", "mistake", "count", "students"]]
    mistakes_rows += [[function, mistake, len(students), " ".join(students)] for function, mistake, students in named]
    atomic_write(folder / "mistakes.csv", csv_text(mistakes_rows))

    def e(text) -> str:
        return html.escape(str(text))

    label = {key: e(i18n.gettext(text, lang)) for key, text in PAGE_TEXT.items()}

    def img(name):
        return (
            f'<img alt="{e(name)}" src="data:image/png;base64,{base64.b64encode(figures[name]).decode()}">'
            if name in figures
            else ""
        )

    students = len(data.results) + len(data.absent)
    summary = (
        i18n.message(
            "{graded} graded of {students} students; mean {mean:.1f}, median {median:.1f} of {max_score:g}",
            lang,
            graded=len(graded),
            students=students,
            mean=statistics.mean(scores),
            median=statistics.median(scores),
            max_score=max_score,
        )
        if scores
        else i18n.message("{graded} graded of {students} students; no scores yet", lang, graded=0, students=students)
    )
    cell_rows = "".join(
        f"<tr{' class=low' if s.point_biserial is not None and s.point_biserial < LOW_DISCRIMINATION else ''}>"
        f"<td><code>{e(s.grade_id)}</code><div class=d>{e(descriptions.get(s.grade_id, ''))}</div></td>"
        f"<td class=n>{s.max_points:g}</td><td class=n>{100 * s.share_passed:.0f}% ({s.passed}/{s.graded})</td>"
        f"<td class=n>{_fmt(s.point_biserial)}</td><td class=n>{_fmt(s.upper_lower)}</td></tr>"
        for s in stats
    )
    by_function: dict[str, list] = defaultdict(list)
    for function, mistake, names in named:
        by_function[function].append((mistake, names))

    def explanation(mistake: str) -> str:
        text = catalogue.get(mistake, {}).get("explanation", "")
        return i18n.gettext(text, lang) if text else ""

    mistake_html = "".join(
        f"<h3><code>{e(function)}</code></h3><table class=m><colgroup><col style='width:55%'><col style='width:10%'>"
        f"<col style='width:35%'></colgroup><tr><th>{label['mistake']}</th><th>{label['students_column']}</th>"
        f"<th>{label['who']}</th></tr>"
        + "".join(
            f"<tr><td><code>{e(m)}</code><div class=d>{e(explanation(m))}</div></td>"
            f"<td class=n>{len(who)}</td><td class=who>{e(', '.join(who))}</td></tr>"
            for m, who in rows
        )
        + "</table>"
        for function, rows in sorted(by_function.items(), key=lambda kv: -sum(len(s) for _, s in kv[1]))
    )

    def status(value: str) -> str:
        return e(i18n.gettext(STATUS[value], lang)) if value in STATUS else e(value)

    student_rows = "".join(
        f"<tr{' class=low' if r.status != 'graded' or r.flags else ''}><td>{e(student)}</td>"
        f"<td class=n>{f'{r.score:g} / {r.max_score:g}' if r.status == 'graded' else '–'}</td>"
        f"<td>{status(r.status)}<div class=d>{e(r.reason)}</div></td><td class=n>{r.seconds:.1f}</td>"
        f"<td>{'<br>'.join(e(flag) for flag in r.flags)}</td></tr>"
        for student, r in sorted(data.results.items())
    )
    student_rows += "".join(
        f"<tr class=low><td>{e(student)}</td><td class=n>–</td><td>{status('not graded')}<div class=d>"
        f"{e(why)}</div></td><td class=n>–</td><td></td></tr>"
        for student, why in sorted(data.absent.items())
    )
    issue_rows = "".join(
        f"<tr><td>{e(s)}</td><td>{e(i18n.gettext(WHAT[w], lang))}</td><td>{e(r)}</td></tr>" for s, w, r in issues
    )
    seconds = [r.seconds for r in graded]
    time_text = (
        i18n.message(
            "median {median:.1f} s, slowest {slowest:.1f} s ({student}), total {total:.0f} s",
            lang,
            median=statistics.median(seconds),
            slowest=max(seconds),
            student=max(graded, key=lambda r: r.seconds).student,
            total=sum(seconds),
        )
        if seconds
        else ""
    )
    title = i18n.message("Class report: {assignment}", lang, assignment=assignment)
    cells_intro = i18n.message(
        "Share of graded students who passed each cell, and its discrimination: the point-biserial correlation "
        "with the score on the other cells, and the upper-lower index (passed among the top 27% minus among "
        "the bottom 27%). Highlighted rows discriminate little (point-biserial under {limit}).",
        lang,
        limit=LOW_DISCRIMINATION,
    )
    sources = i18n.message(
        "From {count} grade.json files under autograded/; CSV: students.csv, cells.csv, mistakes.csv.",
        lang,
        count=len(data.results),
    )
    page = f"""<!doctype html>
<html lang="{e(lang)}"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 1.5em auto; padding: 0 1em; color: #222; }}
h1 {{ font-size: 1.6em; margin-bottom: .2em; }} h2 {{ margin-top: 1.6em; border-bottom: 1px solid #ccc; }}
table {{ border-collapse: collapse; width: 100%; margin: .5em 0 1em; }}
th, td {{ border-bottom: 1px solid #e3e3e3; padding: .35em .5em; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; white-space: nowrap; }} td.n {{ text-align: right; white-space: nowrap; }}
tr.low td {{ background: #fff4e0; }} .d {{ color: #666; font-size: .85em; }} .who {{ font-size: .9em; }}
table.m {{ table-layout: fixed; }} table.s td:first-child {{ word-break: break-all; max-width: 16em; }} img {{ max-width: 100%; display: block; margin: .5em 0; }} .summary {{ font-size: 1.1em; }}
</style></head><body>
<h1>{e(title)}</h1>
<p class=summary>{e(summary)}</p>
<h2>{label["scores"]}</h2>{img("scores.png")}
<h2>{label["students"]}</h2>
<p>{label["students_intro"]}</p>
<table class=s><tr><th>{label["student"]}</th><th>{label["score"]}</th><th>{label["status"]}</th><th>{
        label["seconds"]
    }</th><th>{label["flags"]}</th></tr>{student_rows}</table>
<h2>{label["cells"]}</h2>
<p>{e(cells_intro)}</p>
{img("cells.png")}
<table><tr><th>{label["cell"]}</th><th>{label["points"]}</th><th>{label["passed"]}</th><th>{
        label["point_biserial"]
    }</th><th>{label["upper_lower"]}</th></tr>{cell_rows}</table>
<h2>{label["mistakes"]}</h2>
<p>{label["mistakes_intro"]}</p>
{mistake_html or f"<p>{label['no_mistake']}</p>"}
<h2>{label["problems"]}</h2>
<p>{label["problems_intro"]}</p>
{
        f"<table><tr><th>{label['student']}</th><th>{label['what']}</th><th>{label['reason']}</th></tr>"
        f"{issue_rows}</table>"
        if issues
        else f"<p>{label['no_problem']}</p>"
    }
<h2>{label["time"]}</h2><p>{e(time_text)}</p>{img("seconds.png")}
<p class=d>{e(sources)}</p>
</body></html>
"""
    path = folder / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def course_language(settings: Settings) -> str:
    """The class report's language: ``COURSE_LANG``, else the course's ``c.CourseGrader.language`` (as
    ``course grade``'s output)."""
    return i18n.command_language(settings.language)


def write_report(
    settings: Settings, assignments: list[str], out_dir: Path | None = None, lang: str | None = None
) -> list[Path]:
    out_dir = out_dir or settings.root / "class_report"
    lang = lang or course_language(settings)
    return [write_assignment(settings, a, out_dir, lang) for a in assignments]
