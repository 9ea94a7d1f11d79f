"""How often the grader's diagnosis names the right mistake, on a held-out set of wrong submissions.

usage: python benchmarks/diagnosis_quality.py [ASSIGNMENT ...] [--catalogue]

The held-out set (``tests/heldout_mistakes.json``) is written separately from the catalogue
(``source/<id>/wrong_variants.json``): other code for mistakes students make, each labelled with the
catalogue entry it is an instance of, or with ``null`` where the catalogue has no such entry (then any
name is a wrong diagnosis). Each submission's test cells are judged as in grading, by
:class:`helpers.instructor.judge.LocalJudge` (the test cells, the checks, the comparator and the
diagnosis are the grader's; only the kernel is this process, which makes a run take seconds).

Prints, per assignment and in all, the share of submissions whose failed cells name the right mistake
(goal: at least 70%) and the share named as another mistake (goal: at most 5%). With ``--catalogue``
it also checks every catalogue entry: it fails exactly its declared cells and is diagnosed as itself.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HELDOUT = ROOT / "tests" / "heldout_mistakes.json"
GOAL_RIGHT, GOAL_WRONG = 0.70, 0.05
ASSIGNMENTS = ("cnn_step_by_step", "cnn_application", "residual_networks")


def judge_edits(assignment: str, edits: list[dict], catalogue: list[dict] | None = None) -> list[tuple]:
    """(grade_id, status, reason, mistake) of every test cell, for the source with ``edits`` applied."""
    from helpers.instructor import diagnosis, judge
    from helpers.instructor import notebooks as nbu

    source = nbu.read_notebook(ROOT / "source" / assignment / f"{assignment}.ipynb")
    if catalogue is None:
        catalogue = diagnosis.load_catalogue(ROOT, assignment)
    namespace = diagnosis.edited_namespace(assignment, source, edits)
    return judge.LocalJudge(assignment, source, namespace, catalogue).judge_notebook(source)


def named_mistakes(cells: list[tuple]) -> set[str]:
    return {mistake for _, status, _, mistake in cells if status != "ok" and mistake}


def measure(assignments=ASSIGNMENTS, verbose: bool = True) -> dict:
    """{assignment: {"total", "right", "wrong", "rows"}} and "all", for the held-out set."""
    heldout = json.loads(HELDOUT.read_text())["submissions"]
    report = {}
    for assignment in assignments:
        rows = []
        for item in (h for h in heldout if h["assignment"] == assignment):
            cells = judge_edits(assignment, item["edits"])
            named = named_mistakes(cells)
            failed = [gid for gid, status, _, _ in cells if status != "ok"]
            expected = item.get("mistake")
            verdict = "right" if expected and named == {expected} else "wrong" if named - {expected} else "none"
            rows.append(
                {
                    "name": item["name"],
                    "expected": expected,
                    "named": sorted(named),
                    "verdict": verdict,
                    "failed": failed,
                }
            )
            if verbose:
                print(
                    f"  {assignment}/{item['name']}: {verdict} (named {sorted(named) or 'nothing'}, "
                    f"expected {expected})",
                    flush=True,
                )
        report[assignment] = {
            "total": len(rows),
            "right": sum(r["verdict"] == "right" for r in rows),
            "wrong": sum(r["verdict"] == "wrong" for r in rows),
            "rows": rows,
        }
    report["all"] = {key: sum(report[a][key] for a in assignments) for key in ("total", "right", "wrong")}
    return report


def check_catalogue(assignment: str) -> list[str]:
    """Problems of the catalogue: entries failing other cells than declared, or not diagnosed as themselves."""
    from helpers.instructor import diagnosis

    catalogue = diagnosis.load_catalogue(ROOT, assignment)
    problems = []
    for entry in catalogue:
        cells = judge_edits(assignment, [entry], catalogue)
        failed = sorted(gid for gid, status, _, _ in cells if status != "ok")
        if failed != sorted(entry.get("fails", [])):
            problems.append(f"{entry['name']}: fails {failed}, declared {sorted(entry.get('fails', []))}")
        named = named_mistakes(cells)
        if named != {entry["name"]}:
            reasons = [r for _, s, r, _ in cells if s != "ok"]
            problems.append(f"{entry['name']}: diagnosed as {sorted(named) or 'nothing'}; {reasons[:1]}")
        for field in ("explanation", "hint"):
            if not entry.get(field):
                problems.append(f"{entry['name']}: no {field}")
    return problems


def main(argv: list[str]) -> int:
    assignments = [a for a in argv if not a.startswith("--")] or list(ASSIGNMENTS)
    started = time.time()
    if "--catalogue" in argv:
        for assignment in assignments:
            problems = check_catalogue(assignment)
            print(f"{assignment}: {len(problems)} catalogue problem(s)")
            for problem in problems:
                print("   ", problem)
    report = measure(assignments)
    for key in (*assignments, "all"):
        r = report[key]
        if r["total"]:
            print(
                f"{key}: {r['total']} held-out submissions; right mistake named {r['right'] / r['total']:.0%}, "
                f"wrong mistake named {r['wrong'] / r['total']:.0%}"
            )
    print(f"({time.time() - started:.0f} s; goals: right >= {GOAL_RIGHT:.0%}, wrong <= {GOAL_WRONG:.0%})")
    total = report["all"]
    ok = (
        total["total"]
        and total["right"] / total["total"] >= GOAL_RIGHT
        and total["wrong"] / total["total"] <= GOAL_WRONG
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
