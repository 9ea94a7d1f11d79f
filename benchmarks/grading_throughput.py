"""Grading throughput: stock `nbgrader autograde` (serial) vs `course grade --workers N`, one run.

Builds a class of generated students (reference, blank, and each realistic wrong variant in turn)
in two identical temporary course folders, grades one with stock nbgrader and the other with
`course grade`, checks that both give every student the same score, and prints seconds per student
and the throughput ratio, each side's seconds per notebook by assignment, the load average beside each
time (other work on the machine slows both), and where `course grade`'s time went: each notebook's
phases as its grade.json records them (helpers.instructor.execute.PHASES), averaged per assignment.

    python benchmarks/grading_throughput.py --students 40 --assignments cnn_step_by_step --workers 2
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import make_course_copy  # noqa: E402
from helpers.instructor import catalogue, demo  # noqa: E402
from helpers.instructor.execute import PHASES  # noqa: E402


def build_class(root: Path, assignments: list[str], students: int) -> None:
    for assignment in assignments:
        variants = [v["name"] for v in catalogue.load_variants(root, assignment)["variants"]]
        kinds = [[], None, *[[v] for v in variants]]  # None: the untouched release
        for k in range(students):
            kind = kinds[k % len(kinds)]
            folder = root / "submitted" / f"student{k:03d}" / assignment
            folder.mkdir(parents=True, exist_ok=True)
            if kind is None:
                shutil.copy2(root / "release" / assignment / f"{assignment}.ipynb", folder / f"{assignment}.ipynb")
            else:
                nbformat.write(demo.filled_notebook(root, assignment, kind), folder / f"{assignment}.ipynb")


STOCK_AUTOGRADE = """
# The benchmark's stock side: nbgrader's own autograde pipeline, not the course's exporter hook.
for _key in ("exporter_class", "sanitize_preprocessors", "autograde_preprocessors"):
    c.Autograde.pop(_key, None)
"""


def use_stock_autograde(root: Path) -> None:
    """The course's nbgrader_config.py makes `nbgrader autograde` run the course's grader; undo that here."""
    with open(root / "nbgrader_config.py", "a") as handle:
        handle.write(STOCK_AUTOGRADE)


def env() -> dict[str, str]:
    return dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))


def run(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def stock_scores(root: Path) -> dict[tuple[str, str], float]:
    run([sys.executable, "-m", "nbgrader", "export", "--to", str(root / "stock.csv")], root)
    with open(root / "stock.csv") as handle:
        return {(r["student_id"], r["assignment"]): float(r["raw_score"] or 0) for r in csv.DictReader(handle)}


def course_scores(root: Path) -> dict[tuple[str, str], float]:
    with open(root / "grades.csv") as handle:
        return {(r["student"], r["assignment"]): float(r["score"]) for r in csv.DictReader(handle)}


def load() -> str:
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def phase_table(root: Path, assignments: list[str]) -> str:
    """Mean wall-clock seconds per notebook in each phase, by assignment, from every grade.json."""
    rows = {a: [] for a in assignments}
    for path in sorted((root / "autograded").glob("*/*/grade.json")):
        data = json.loads(path.read_text())
        if data.get("phases") and data.get("assignment") in rows:
            rows[data["assignment"]].append(data["phases"])
    width = max(len(p) for p in PHASES)
    lines = [f"{'phase (mean s per notebook)':{width}s}" + "".join(f"{a[:18]:>20s}" for a in assignments)]
    for phase in (*PHASES, "total"):
        cells = []
        for a in assignments:
            found = rows[a]
            value = (
                sum(sum(p.values()) if phase == "total" else p.get(phase, 0.0) for p in found) / len(found)
                if found
                else float("nan")
            )
            cells.append(f"{value:20.2f}")
        lines.append(f"{phase:{width}s}" + "".join(cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--assignments", nargs="+", default=["cnn_step_by_step"])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        stock = make_course_copy(Path(tmp) / "stock", args.assignments)
        ours = make_course_copy(Path(tmp) / "ours", args.assignments)
        use_stock_autograde(stock)
        for root in (stock, ours):
            build_class(root, args.assignments, args.students)
            for assignment in args.assignments:  # registers the assignment in each gradebook
                run(
                    [
                        sys.executable,
                        "-m",
                        "nbgrader",
                        "generate_assignment",
                        assignment,
                        "--force",
                        "--log-level=ERROR",
                    ],
                    root,
                )
        from helpers import signs

        signs.load_dataset(verbose=False)  # both graders find the data ready

        n = args.students * len(args.assignments)
        print(
            f"class: {args.students} students x {len(args.assignments)} assignment(s) = {n} notebooks "
            f"({', '.join(args.assignments)}), {os.cpu_count()} cores"
        )
        print(f"before stock: {load()}")
        per_assignment = {
            a: run([sys.executable, "-m", "nbgrader", "autograde", a, "--force", "--log-level=ERROR"], stock)
            for a in args.assignments
        }
        t_stock = sum(per_assignment.values())
        print(f"after stock, before course grade: {load()}")
        t_ours = run(
            [
                sys.executable,
                "-m",
                "helpers.cli",
                "grade",
                *args.assignments,
                "--workers",
                str(args.workers),
                "--force",
            ],
            ours,
        )
        print(f"after course grade: {load()}")
        a, b = stock_scores(stock), course_scores(ours)
        differ = {k: (a.get(k), b.get(k)) for k in b if a.get(k) != b.get(k)}
        print(f"stock nbgrader autograde (serial):  {t_stock:7.1f} s  {t_stock / args.students:5.2f} s/student")
        print(
            f"course grade --workers {args.workers} (sandboxed): {t_ours:7.1f} s  "
            f"{t_ours / args.students:5.2f} s/student"
        )
        print(f"throughput ratio: {t_stock / t_ours:.2f}x")
        print("same score for every student: " + ("yes" if not differ else f"NO: {differ}"))
        print(
            "stock, s per notebook (serial): "
            + ", ".join(f"{a} {t / args.students:.2f}" for a, t in per_assignment.items())
        )
        print(f"course grade: where each notebook's wall-clock time went ({args.workers} at a time)")
        print(phase_table(ours, args.assignments))


if __name__ == "__main__":
    main()
