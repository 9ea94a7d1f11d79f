"""What a lab report holds, independent of its format: the renderers read only these classes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from helpers.report.check import FunctionPoints
from helpers.report.environment import Environment


@dataclass(frozen=True)
class TextOutput:
    """What one code cell printed (already cleaned: no colour codes, no progress-bar redraws)."""

    text: str
    error: bool = False
    check: str = ""  # the grade id of the test cell that printed it (a self-check), else ""


@dataclass
class Figure:
    png: bytes
    width_px: int
    height_px: int
    number: int = 0
    caption: str = ""


@dataclass
class Step:
    """One step of the notebook: its headings and, for a graded function, the student's code and points."""

    headings: list[tuple[int, str]]  # (markdown level, text), as in the notebook
    function: str | None = None  # the graded function written in this step
    code: str | None = None  # the student's lines between START and END CODE HERE
    unwritten: bool = False  # the function still raises NotImplementedError
    missing: bool = False  # the notebook has no cell for the function
    outputs: list[TextOutput] = field(default_factory=list)
    self_checks: list[TextOutput] = field(default_factory=list)  # what the visible test cells printed
    expected: list[str] = field(default_factory=list)  # markdown of the "Expected output" cells
    figures: list[Figure] = field(default_factory=list)
    points: FunctionPoints | None = None


@dataclass(frozen=True)
class Principle:
    """实验原理 of one graded function: the notebook's explanation before it, condensed (markdown)."""

    function: str
    heading: str
    text: str


@dataclass
class StudentSection:
    """结论分析与体会 or 问题与解答: what the student wrote in that cell, the prompt removed."""

    kind: str  # "conclusions" | "questions"
    text: str = ""
    found: bool = False  # the notebook has the cell

    @property
    def empty(self) -> bool:
        return not self.text.strip()


@dataclass(frozen=True)
class CoverField:
    key: str
    label: str
    value: str
    missing: bool = False


@dataclass
class Report:
    lang: str
    assignment: str
    title: str  # the lab's title: the notebook's first heading
    date: dt.date
    cover: list[CoverField]
    purpose: str  # markdown
    environment: Environment
    steps: list[Step]
    score: float
    max_score: float
    conclusions: StudentSection
    questions: StudentSection
    author: str = ""
    profile_found: bool = True
    profile_path: str = ""  # as shown to the student (relative to the course folder when inside it)
    ran_fast: bool = False  # course report ran a copy of the notebook in fast mode; run_reason says why
    run_reason: str = ""  # "never_run" (no cell had run), "holes" (some code cells never ran), "rerun" (--rerun)
    never_ran: int = 0  # how many code cells of the student's notebook had never run
    never_ran_from: str = ""  # the heading above the first of them
    principles: list[Principle] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # the grader's notes, in the report and on the command line
    flags: list[str] = field(default_factory=list)  # what is missing or empty, also said on the command line

    @property
    def graded_steps(self) -> list[Step]:
        return [s for s in self.steps if s.points is not None]

    @property
    def figures(self) -> list[Figure]:
        return [f for s in self.steps for f in s.figures]
