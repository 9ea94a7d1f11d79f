"""Shared fixtures: the repository, a throwaway course folder, the reference SIGNS file, the graded class.

Tiers. The README's command (``python -m pytest``) runs the fast tier: every test not marked
``exhaustive``. Tests marked ``exhaustive`` (every catalogue variant graded in a kernel, the fault
matrix, the TensorFlow trust batch, the browser, scale-out and isolation-mode tests) run only when
the ``-m`` expression names the marker: ``python -m pytest -m exhaustive`` runs that tier alone,
``-m "exhaustive or not exhaustive"`` runs both. ``.ci/run`` runs the fast tier, then the exhaustive one.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_SIGNS = ROOT.parent / "shared" / "signs" / "test_signs.h5"
ASSIGNMENTS = ("cnn_step_by_step", "cnn_application", "residual_networks")
EXHAUSTIVE = "exhaustive"
_LEFT_OUT = pytest.StashKey[int]()  # how many exhaustive tests this run left out


def pytest_collection_modifyitems(config, items):
    """Leave out the exhaustive tier unless the ``-m`` expression names it (then ``-m`` alone decides)."""
    if hasattr(config, "workerinput"):
        _write_groups(config, items)
    if EXHAUSTIVE in (config.option.markexpr or ""):
        return
    left_out = [item for item in items if item.get_closest_marker(EXHAUSTIVE)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker(EXHAUSTIVE)]
    config.stash[_LEFT_OUT] = len(left_out)


# pytest-xdist (pyproject.toml's addopts: -n 2 --dist loadgroup). Tests that share a fixture made once
# per process (a graded class; a module's or a session's fixture defined in a test module) must run in
# the same worker, or each worker makes it again (minutes). xdist's own xdist_group marks do not take
# effect under pytest 9 (xdist 3.8 renames a test through item._nodeid, which pytest 9 no longer reads),
# so the workers, which know each test's fixtures, write each test's group to a file of this run, and
# the controller's scheduler (pytest_xdist_make_scheduler) sends each group to one worker.
SHARED_GRADED = ("graded_references", "graded_packs")  # session fixtures that grade a class


def _fixture_group(item) -> str | None:
    """The group an item must share a worker with: the graded class it reads, else its module when it
    uses a fixture its module makes once (module or session scope); None: any worker."""
    fixtures = getattr(item, "_fixtureinfo", None)
    if fixtures is None:
        return None
    shared = [name for name in SHARED_GRADED if name in item.fixturenames]
    if shared:
        return shared[0]
    for name in item.fixturenames:
        definitions = fixtures.name2fixturedefs.get(name)
        if definitions and definitions[-1].scope != "function" and definitions[-1].baseid.endswith(".py"):
            return item.module.__name__
    return None


def _groups_file(run: str) -> Path:
    return Path(tempfile.gettempdir()) / f"course-test-groups-{run}.json"


def _write_groups(config, items) -> None:
    """In a worker: {test id: group} of every collected test (all workers collect the same tests)."""
    groups = {item.nodeid: group for item in items if (group := _fixture_group(item))}
    target = _groups_file(config.workerinput["testrunuid"])
    partial = target.with_name(f"{target.name}.{os.getpid()}")
    partial.write_text(json.dumps(groups))
    os.replace(partial, target)


def pytest_configure(config):
    """The controller names the run before its workers start, so that both sides name the same file."""
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        config.option.testrunuid = config.option.testrunuid or uuid.uuid4().hex


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FixtureGroupScheduling(LoadScopeScheduling):
        """A work unit per fixture group (as the workers wrote them); every other test a unit of its own."""

        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # asked once every worker has collected, so the file is written
                path = _groups_file(config.option.testrunuid)
                self.groups = json.loads(path.read_text()) if path.is_file() else {}
                path.unlink(missing_ok=True)
            return self.groups.get(nodeid, nodeid)

    return FixtureGroupScheduling(config, log)


def pytest_sessionfinish(session):
    """A pytest-xdist worker tells the controller how many exhaustive tests it left out."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["left_out"] = session.config.stash.get(_LEFT_OUT, 0)


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: the controller hears each worker's count
def pytest_testnodedown(node, error):
    left_out = getattr(node, "workeroutput", {}).get("left_out", 0)
    node.config.stash[_LEFT_OUT] = max(node.config.stash.get(_LEFT_OUT, 0), left_out)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    left_out = config.stash.get(_LEFT_OUT, 0)
    if left_out:
        terminalreporter.write_line(
            f"fast tier: {left_out} exhaustive test(s) left out; `python -m pytest -m exhaustive` runs them "
            "(.ci/run runs both tiers)"
        )


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def make_course_copy(target: Path, assignments: list[str] | None = None) -> Path:
    """A course folder with the config, source/ and release/ of the repository, nothing graded yet."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "nbgrader_config.py", target / "nbgrader_config.py")
    for folder in ("source", "release"):
        for assignment_dir in sorted((ROOT / folder).iterdir()):
            if assignment_dir.is_dir() and (assignments is None or assignment_dir.name in assignments):
                shutil.copytree(assignment_dir, target / folder / assignment_dir.name)
    return target


UNTOUCHED_RELEASE = "hand in the untouched release"


def write_submissions(root: Path, assignment: str, submissions: dict) -> None:
    """submitted/<student>/<assignment>/: a notebook, raw bytes, UNTOUCHED_RELEASE, or None for a missing notebook."""
    import nbformat

    for student, content in submissions.items():
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{assignment}.ipynb"
        if isinstance(content, str) and content == UNTOUCHED_RELEASE:
            shutil.copy2(root / "release" / assignment / f"{assignment}.ipynb", target)
        elif isinstance(content, bytes):
            target.write_bytes(content)
        elif content is not None:
            nbformat.write(content, target)


@functools.cache  # read once per assignment: every variant's assertion asks for its pack
def variant_packs(assignment: str) -> tuple[tuple[str, ...], ...]:
    """Every wrong and correct variant of the catalogues, packed into as few notebooks as they allow.

    A pack holds at most one variant per solution cell, and wrong variants whose declared failing cells
    do not overlap, so each test cell has at most one variant that can fail it and the mistake named
    there says which. The test cells check each function on the course's own inputs, so a variant
    loses in a pack what it loses alone: a pack grades as the union of its members' declarations,
    and any cross-talk between cells would show as a pack that does not. First fit in catalogue order
    (wrong, then correct): the same packs every run. Grading ~15 notebooks instead of ~50 per assignment
    is most of what keeps the test suite short.
    """
    from helpers.instructor import catalogue

    packs: list[tuple[list[str], set[str], set[str]]] = []  # names, solution cells, failing test cells
    for kind in ("wrong", "correct"):
        for variant in catalogue.load_variants(ROOT, assignment, kind)["variants"]:
            fails = set(variant.get("fails", []))
            for names, cells, failing in packs:
                if variant["cell"] not in cells and not fails & failing:
                    names.append(variant["name"])
                    cells.add(variant["cell"])
                    failing |= fails
                    break
            else:
                packs.append(([variant["name"]], {variant["cell"]}, fails))
    return tuple(tuple(names) for names, _, _ in packs)


def pack_student(k: int) -> str:
    return f"pack_{k + 1:02d}"


def pack_of(assignment: str, name: str) -> tuple[str, tuple[str, ...]]:
    """The student who hands in variant ``name``'s pack, and the pack's variants."""
    return next((pack_student(k), names) for k, names in enumerate(variant_packs(assignment)) if name in names)


class GradedCourse(dict):
    """{assignment: {student: Result}}, and the course folder they were graded in (``root``)."""

    def __init__(self, root: Path, results: dict):
        super().__init__(results)
        self.root = root


def grade_class(target: Path, submissions: dict[str, dict], timeout: int | None = None) -> GradedCourse:
    """Grade ``{assignment: {student: submission}}`` (see :func:`write_submissions`) in one run of the
    grader, real kernels on up to two workers, on a fresh course copy in ``target``."""
    from helpers.instructor import batch
    from helpers.instructor.settings import Settings

    root = make_course_copy(target, list(submissions))
    jobs = []
    for assignment, students in submissions.items():
        write_submissions(root, assignment, students)
        jobs += [batch.Job(student, assignment) for student in students]
    settings = Settings.load(root) if timeout is None else Settings.load(root, timeout=timeout)
    results = batch.grade_all(settings, jobs, workers=max(1, min(2, os.cpu_count() or 1)), force=True, progress=False)
    graded = GradedCourse(root, {assignment: {} for assignment in submissions})
    for result in results:
        graded[result.assignment][result.student] = result
    return graded


def pack_submissions(assignment: str, packs: range | None = None) -> dict:
    """The students handing in ``packs`` (all by default) of the assignment's variant packs."""
    from helpers.instructor import demo

    names = variant_packs(assignment)
    return {
        pack_student(k): demo.filled_notebook(ROOT, assignment, names[k])
        for k in (packs if packs is not None else range(len(names)))
    }


REPRESENTATIVE_PACK = 0  # pack_01, the largest: first fit fills it first, one variant for most solution cells
# The assignments whose representative pack the fast tier grades in a kernel (graded_references): numpy
# only, seconds; every pack of every assignment is graded in kernels by the exhaustive tier.
KERNEL_PACK_ASSIGNMENTS = ("cnn_step_by_step",)


@pytest.fixture(scope="session")
def graded_references(tmp_path_factory) -> GradedCourse:
    """Each assignment's source answers ("reference") and its untouched release ("blank"), graded in
    real kernels in one run, once per session, with cnn_step_by_step's representative variant pack
    (``pack_01``; the TensorFlow assignments' packs are graded in kernels by the exhaustive tier's
    ``graded_packs``): every test that needs a graded reference or blank reads these."""
    from helpers.instructor import demo

    submissions = {
        assignment: {
            "reference": demo.filled_notebook(ROOT, assignment),
            "blank": UNTOUCHED_RELEASE,
            **(
                pack_submissions(assignment, range(REPRESENTATIVE_PACK, REPRESENTATIVE_PACK + 1))
                if assignment in KERNEL_PACK_ASSIGNMENTS
                else {}
            ),
        }
        for assignment in ASSIGNMENTS
    }
    return grade_class(tmp_path_factory.mktemp("references") / "course", submissions)


@pytest.fixture(scope="session")
def graded_packs(tmp_path_factory) -> GradedCourse:
    """Every variant pack of every assignment graded in real kernels, in one run (the exhaustive tier's)."""
    return grade_class(
        tmp_path_factory.mktemp("packs") / "course",
        {assignment: pack_submissions(assignment) for assignment in ASSIGNMENTS},
    )


@functools.cache  # one read per assignment
def _source_notebook(assignment: str):
    from helpers.instructor import notebooks as nbu

    return nbu.read_notebook(ROOT / "source" / assignment / f"{assignment}.ipynb")


IN_PROCESS_DIAGNOSIS_SECONDS = 600


@functools.cache  # the fast and the exhaustive tier's tests ask for the same packs
def judge_in_process(assignment: str, names: tuple[str, ...]) -> tuple[tuple[str, str, float, str, str], ...]:
    """(grade_id, status, points, mistake, message) of every test cell for the source answers with the
    variants ``names`` applied, judged in this process by :class:`helpers.instructor.judge.LocalJudge`:
    the grader's test cells, checks, comparator and diagnosis, the student's functions called here.
    Status is "passed", or what a kernel's grading says of a failed cell ("error", "timeout")."""
    from helpers.instructor import diagnosis, judge
    from helpers.instructor import notebooks as nbu

    source = _source_notebook(assignment)
    variants = [declared_variant(assignment, name) for name in names]
    namespace = diagnosis.edited_namespace(assignment, source, variants)
    local = judge.LocalJudge(assignment, source, namespace, diagnosis.load_catalogue(ROOT, assignment))
    # Naming a mistake runs the catalogue's variants; the grader's budget for it (judge.DIAGNOSIS_SECONDS)
    # is wall-clock time, which a busy 2-core machine can use up before the name is found (the cell
    # then fails unnamed). What is checked here is the name, so the diagnosis gets the time it needs.
    local.diagnosis_seconds = IN_PROCESS_DIAGNOSIS_SECONDS
    points = {nbu.grade_id(c): nbu.points(c) for c in nbu.test_cells(source)}
    return tuple(
        (gid, "passed", points[gid], "", "") if status == "ok" else (gid, status, 0.0, mistake, reason)
        for gid, status, reason, mistake in local.judge_notebook(copy.deepcopy(source))
    )


def cell_rows(cells) -> list[tuple[str, str, float, str, str]]:
    """(grade_id, status, points, mistake, message) of a kernel's ``Result.cells`` or of
    :func:`judge_in_process`'s rows."""
    return [c if isinstance(c, tuple) else (c.grade_id, c.status, c.points, c.mistake, c.message) for c in cells]


def verdicts(cells) -> dict[str, tuple[str, float, str]]:
    """grade_id -> (status, points, mistake): what a kernel's grading and the in-process judge must agree on."""
    return {gid: (status, points, mistake) for gid, status, points, mistake, _ in cell_rows(cells)}


def variant_names(assignment: str, kind: str) -> list[str]:
    """The names of ``source/<assignment>/{wrong,correct}_variants.json`` (for parametrize)."""
    from helpers.instructor import catalogue

    return [v["name"] for v in catalogue.load_variants(ROOT, assignment, kind)["variants"]]


def declared_variant(assignment: str, name: str) -> dict:
    from helpers.instructor import catalogue

    for kind in ("wrong", "correct"):
        for variant in catalogue.load_variants(ROOT, assignment, kind)["variants"]:
            if variant["name"] == name:
                return dict(variant, fails=variant.get("fails", []))
    raise KeyError(name)


MIN_CORPUS = 10  # correct alternatives, and realistic mistakes, per assignment


def assert_blank_earns_zero(result) -> None:
    """The untouched release: graded, 0 points, every test cell an error, and no kernel crash on the way."""
    assert result.status == "graded" and result.score == 0
    assert all(c.status == "error" for c in result.cells), [(c.grade_id, c.status) for c in result.cells]
    assert not any("restarted" in note for note in result.notes), result.notes


def assert_pack_loses_exactly(assignment: str, pack: tuple[str, ...], cells) -> None:
    """A pack's cells, graded in a kernel (``Result.cells``) or in process (:func:`judge_in_process`),
    fail exactly its members' declared cells; the cells each member fails name its mistake and no
    other, and passing cells name none."""
    owner = {gid: member for member in pack for gid in declared_variant(assignment, member)["fails"]}
    found = verdicts(cells)
    messages = {gid: message for gid, _, _, _, message in cell_rows(cells) if message}
    failed = {gid: mistake for gid, (status, _, mistake) in found.items() if status != "passed"}
    assert set(failed) == set(owner), (pack, messages)
    named = {}  # the mistakes named in each member's cells
    for gid, mistake in failed.items():
        named.setdefault(owner[gid], set()).update({mistake} - {None, ""})
    assert named == {member: {member} for member in set(owner.values())}, (pack, messages)
    assert not any(mistake for status, _, mistake in found.values() if status == "passed"), (pack, messages)


def assert_variant_loses_exactly(result, assignment: str, name: str) -> None:
    """The pack holding variant ``name``, graded in a kernel, loses exactly what its members declare
    (:func:`assert_pack_loses_exactly`) and scores the rest."""
    from helpers.instructor import demo

    _, pack = pack_of(assignment, name)
    assert result.status == "graded", (pack, result.status, result.reason)
    assert_pack_loses_exactly(assignment, pack, result.cells)
    assert result.score == demo.expected_score(ROOT, assignment, pack)


@pytest.fixture
def course_copy(tmp_path) -> Path:
    return make_course_copy(tmp_path / "course", ["cnn_step_by_step"])


@pytest.fixture(scope="session")
def real_signs_test_file() -> Path:
    if not SHARED_SIGNS.is_file():
        pytest.skip(f"{SHARED_SIGNS} is not present (reference data lives outside the repository)")
    return SHARED_SIGNS


def hidden_test_lines(root: Path, assignment: str) -> set[str]:
    """Every substantial line of the hidden tests in ``assignment``'s source notebook under ``root``."""
    import re

    from helpers.instructor import notebooks as nbu

    source = nbu.read_notebook(root / "source" / assignment / f"{assignment}.ipynb")
    lines = set()
    for cell in source.cells:
        for region in re.findall(re.escape(nbu.BEGIN_HIDDEN) + r"(.*?)" + re.escape(nbu.END_HIDDEN), cell.source, re.S):
            lines |= {line.strip() for line in region.splitlines() if len(line.strip()) > 25}
    return lines
