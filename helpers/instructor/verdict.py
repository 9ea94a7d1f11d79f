"""What a graded notebook earned: the points and reason of every test cell, as stored in ``grade.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from helpers import i18n
from helpers.i18n import N_
from helpers.instructor import notebooks as nbu

RESULT_VERSION = 7  # bump when grading or this format changes, so that stored results are not reused


@dataclass
class CellScore:
    grade_id: str
    points: float
    max_points: float
    status: str
    message: str = ""
    description: str = ""
    mistake: str = ""  # the catalogue's name of the likely mistake (helpers.instructor.diagnosis), if one matched
    seconds: float = 0.0  # the cell's wall-clock time: the kernel's calls and the grader's own work on them


@dataclass
class Result:
    student: str
    assignment: str
    score: float
    max_score: float
    status: str  # graded | missing | invalid; "not graded" only in grades.csv, for a notebook the grader failed on
    reason: str = ""
    cells: list[CellScore] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # why it may not be the student's own (instructor.provenance)
    submission_sha256: str = ""
    source_sha256: str = ""
    judged_by: dict = field(default_factory=dict)  # what decided it, per file and setting (grade_key.judged_by)
    seconds: float = 0.0
    # Where the notebook's wall-clock seconds went, by phase (helpers.instructor.execute.PHASES); shown by
    # benchmarks/grading_throughput.py. Not part of the verdict.
    phases: dict = field(default_factory=dict)
    grader_peak_mb: float = 0.0  # the grading process's peak memory (RSS) while it graded this notebook
    restarts: int = 0  # how many times the kernel was restarted (it died or stopped answering)
    graded_at: str = ""
    lang: str = "en"  # the submitted notebook's edition (metadata.course.lang): the language of its page
    version: int = RESULT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Result:
        data = json.loads(text)
        data["cells"] = [CellScore(**c) for c in data.get("cells", [])]
        return cls(**data)


RESTART_NOTE = N_("the kernel was restarted {count} time(s)")


def restart_note(restarts: int, lang: str | None = None) -> str:
    """The note on a notebook whose kernel was restarted ``restarts`` times, in ``lang``."""
    return i18n.message(RESTART_NOTE, lang, count=restarts)


def _error_message(cell, last: bool = False) -> str:
    outputs = cell.get("outputs", [])
    for out in reversed(outputs) if last else outputs:
        if out.get("output_type") == "error":
            value = str(out.get("evalue", "")).strip()
            return f"{out.get('ename', 'Error')}: {value}" if value else str(out.get("ename", "Error"))
    return ""


def score_cells(
    source,
    executed,
    statuses: dict[int, str],
    reasons: dict[int, str] | None = None,
    mistakes: dict[int, str] | None = None,
    seconds: dict[int, float] | None = None,
) -> list[CellScore]:
    """Points per test cell: full points when the grader's run of it passed, else 0 with the reason."""
    by_id = {}
    for index, cell in enumerate(executed.cells):
        gid = nbu.grade_id(cell)
        if gid and gid not in by_id:
            by_id[gid] = (index, cell)
    scores = []
    for test in nbu.test_cells(source):
        gid = nbu.grade_id(test)
        index, cell = by_id[gid]
        status = statuses.get(index, "not run")
        message = ""
        if status == "error":
            message = (reasons or {}).get(index) or _error_message(cell)
        elif status != "ok":
            message = _error_message(cell, last=True) or status
        passed = status == "ok"
        scores.append(
            CellScore(
                grade_id=gid,
                points=nbu.points(test) if passed else 0.0,
                max_points=nbu.points(test),
                status="passed" if passed else status,
                message=message,
                description=nbu.docstring_line(test.source),
                mistake="" if passed else (mistakes or {}).get(index, ""),
                seconds=round((seconds or {}).get(index, 0.0), 2),
            )
        )
    return scores
