"""The student profile: who writes the lab report, in one TOML file written once.

``course profile`` creates ``notebooks/profile.toml`` from :data:`FIELDS` (each key with its
description, in both languages) and can set keys from the command line; the student may also edit
the file by hand. ``course report`` reads it with :mod:`tomllib`. A missing file or a blank key is
not an error: the report is made with that cover field left blank and flagged.

Example::

    name = "李明"
    student_number = "2023010123"
    class = "计算机 2301"
    email = "liming@example.edu.cn"
    course = "深度学习"
    teacher = "王老师"
    language = "zh"
    date = "2026-05-20"
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

PROFILE_NAME = "profile.toml"
LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class Field:
    key: str
    zh: str
    en: str
    help: str
    required: bool = True


FIELDS = (
    Field("name", "姓名", "Name", "your name as the teacher knows it"),
    Field("student_number", "学号", "Student number", "as on your student card"),
    Field("class", "班级", "Class", "your class or group"),
    Field("email", "电子邮件", "E-mail", "where the teacher can reach you"),
    Field("course", "课程名称", "Course", "the course this lab belongs to"),
    Field("teacher", "指导教师", "Teacher", "who teaches or grades the lab"),
    Field(
        "language",
        "报告语言",
        "Report language",
        '"zh" for Chinese headings and labels, "en" for English ones (course report --lang overrides it)',
        required=False,
    ),
    Field(
        "date",
        "日期",
        "Date",
        "the date printed on the report, YYYY-MM-DD; empty: the day the report is made "
        "(course report --date overrides it)",
        required=False,
    ),
)
KEYS = tuple(f.key for f in FIELDS)


class ProfileError(ValueError):
    """The profile file cannot be used; the message names the file and what to fix."""


@dataclass
class Profile:
    """The profile's values (blank strings where not given) and where they came from."""

    values: dict[str, str] = field(default_factory=lambda: {k: "" for k in KEYS})
    path: Path | None = None
    found: bool = False

    def get(self, key: str) -> str:
        return self.values.get(key, "")

    def missing(self) -> list[str]:
        """The required keys left blank, in file order."""
        return [f.key for f in FIELDS if f.required and not self.get(f.key).strip()]

    @property
    def language(self) -> str | None:
        return self.get("language") or None

    @property
    def date(self) -> dt.date | None:
        return parse_date(self.get("date")) if self.get("date") else None


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ProfileError(f"{text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-05-20.") from None


def default_path(root: Path) -> Path:
    return root / "notebooks" / PROFILE_NAME


def find(root: Path, notebook: Path | None = None, explicit: Path | None = None) -> Path:
    """The profile to use: ``explicit``, else ``profile.toml`` beside the notebook, else ``notebooks/``'s."""
    if explicit is not None:
        return Path(explicit)
    if notebook is not None and (Path(notebook).parent / PROFILE_NAME).is_file():
        return Path(notebook).parent / PROFILE_NAME
    return default_path(root)


def load(path: Path) -> Profile:
    """Read a profile; a missing file gives an empty profile with ``found`` false."""
    path = Path(path)
    if not path.is_file():
        return Profile(path=path, found=False)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(
            f"{path}: not valid TOML ({exc}). Fix it, or move it away and run `course profile`."
        ) from exc
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ProfileError(f"{path}: unknown key(s) {', '.join(unknown)}; the keys are {', '.join(KEYS)}.")
    values = {k: "" for k in KEYS}
    for key, value in data.items():
        if not isinstance(value, str):
            raise ProfileError(f'{path}: {key} must be text in quotes, e.g. {key} = "{value}".')
        values[key] = value.strip()
    validate(values, path)
    return Profile(values=values, path=path, found=True)


def validate(values: dict[str, str], where: Path | str = "profile") -> None:
    if values.get("language") and values["language"] not in LANGUAGES:
        raise ProfileError(f'{where}: language must be "zh" or "en", not {values["language"]!r}.')
    if values.get("date"):
        try:
            parse_date(values["date"])
        except ProfileError as exc:
            raise ProfileError(f"{where}: date: {exc}") from None


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (quotes, backslashes and control characters escaped)."""
    out = []
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def render(values: dict[str, str]) -> str:
    """The profile file: a header saying what it is for, then every key with its description."""
    lines = [
        "# The student profile for `course report`, which makes the lab report (实验报告) of a notebook.",
        "# 学生信息：`course report` 用它填写实验报告的封面表格。",
        "#",
        "# Write each value between the quotes; a key left empty is left blank on the report's cover and",
        "# flagged there. `course profile --help` sets keys from the command line.",
        "# 在引号内填写；留空的项在报告封面上空着并被标出。",
        "",
    ]
    for f in FIELDS:
        lines.append(f"# {f.zh} · {f.en}: {f.help}")
        lines.append(f"{f.key} = {toml_string(values.get(f.key, ''))}")
        lines.append("")
    return "\n".join(lines)


def write(path: Path, updates: dict[str, str]) -> Profile:
    """Create or update the profile at ``path`` with ``updates`` (keys not given keep their value)."""
    path = Path(path)
    current = load(path).values if path.is_file() else {k: "" for k in KEYS}
    unknown = sorted(set(updates) - set(KEYS))
    if unknown:
        raise ProfileError(f"unknown key(s) {', '.join(unknown)}; the keys are {', '.join(KEYS)}.")
    values = {**current, **{k: v.strip() for k, v in updates.items()}}
    validate(values, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(values), encoding="utf-8")
    return load(path)
