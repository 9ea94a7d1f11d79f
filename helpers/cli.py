"""``course``: the one command for instructors and learners, thin over nbgrader and the helpers."""

# Start-up time: each subcommand imports what it needs inside its function, so that `course --help`,
# `course profile` and argument errors answer at once, and nbgrader, nbclient and TensorFlow (seconds
# each) load only for the commands that use them. A test asserts which modules each of those loads.

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from helpers.i18n import gettext as _
from helpers.paths import ASSIGNMENTS, course_command, course_root
from helpers.report.profile import FIELDS


def _root(args) -> Path:
    return Path(args.root).resolve() if getattr(args, "root", None) else course_root()


def _print_results(results, root: Path) -> None:
    from helpers.instructor import outputs

    print(outputs.table(results))
    for r in results:
        if r.status != "graded":
            print(f"  {r.student}/{r.assignment}: {r.status}: {r.reason}")
        for note in r.notes:
            print(f"  {r.student}/{r.assignment}: {note}")
        for flag in r.flags:
            print(f"  {r.student}/{r.assignment}: FLAGGED: {flag}")


def cmd_release(args) -> int:
    from helpers.instructor import release

    root = _root(args)
    for path in release.release(root, args.assignments or None):
        print(_("released {path}").format(path=path.relative_to(root)))
    return 0


def cmd_setup(args) -> int:
    from helpers.instructor import release

    root = _root(args)
    copied = release.setup_notebooks(root, args.lang)
    for path in copied:
        print(_("copied {path}", args.lang).format(path=path.relative_to(root)))
    print(_("notebooks/ is ready ({count} new file(s); existing files are never overwritten).",
            args.lang).format(count=len(copied)))
    print(release.lab_language(args.lang))
    exchange = release.setup_exchange(root)
    print(f"nbgrader exchange: {exchange}")
    assignments = release.available_assignments(root)
    release.ensure_registered(root, assignments)
    print(f"gradebook: {', '.join(assignments)} registered with their points")
    print(release.install_output_filter(root))
    print(release.quiet_lab_notices())
    print(release.lab_terminal_commands())
    return 0


def cmd_translations(args) -> int:
    from helpers.instructor import translations

    root = _root(args)
    assignments = args.assignments or None
    unfinished = 0
    for path, count in translations.update(root, args.lang, assignments):
        unfinished += count
        state = (_("{count} string(s) to translate or review (empty or fuzzy)").format(count=count)
                 if count else _("every string translated"))
        print(f"{path.relative_to(root)}: {state}")
        assignment = path.name.split(".")[0]
        print(_("built {path}").format(path=translations.write_edition(root, assignment, args.lang).relative_to(root)))
    return 1 if unfinished else 0


def cmd_normalize(args) -> int:
    from helpers.instructor.normalize import normalize_file, source_notebooks

    root = _root(args)
    paths = [Path(p) for p in args.notebooks] or source_notebooks(root)
    for path in paths:
        print(f"{'normalised' if normalize_file(path) else 'already normal'}: {path}")
    return 0


def _grade(root: Path, assignments, workers: int, force: bool, timeout: int | None, students=None,
           scheduler: str | None = None):
    from helpers.instructor import batch, outputs, release
    from helpers.instructor.settings import Settings

    assignments = list(assignments or release.available_assignments(root))
    release.ensure_registered(root, assignments)
    settings = Settings.load(root, timeout=timeout)
    jobs = batch.find_jobs(settings, assignments)
    if students:
        jobs = [j for j in jobs if j.student in students]
    try:
        results = batch.grade_all(settings, jobs, workers=workers, force=force, scheduler=scheduler)
    except batch.GradingIncomplete as exc:
        # One notebook the grader could not finish never holds back the others' grades: they are
        # written, and its row says it is not graded yet (the same command grades just it again).
        outputs.write_csv(settings, exc.results + exc.not_graded())
        outputs.sync_gradebook(settings, exc.results)
        raise
    outputs.write_csv(settings, results)
    outputs.sync_gradebook(settings, results)
    return results


def _default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def cmd_grade(args) -> int:
    root = _root(args)
    for a in args.assignments:
        if a not in ASSIGNMENTS:
            print(f"error: unknown assignment {a!r}; choose from {', '.join(ASSIGNMENTS)}", file=sys.stderr)
            return 2
    from helpers.instructor.settings import Settings

    settings = Settings.load(root)
    submitted = root / settings.folders["submitted"]
    if not submitted.is_dir():
        print(f"error: {submitted} does not exist: put submissions in "
              f"{settings.folders['submitted']}/<student>/<assignment>/<assignment>.ipynb "
              f"(or run `{course_command()} demo`).",
              file=sys.stderr)
        return 2
    results = _grade(root, args.assignments, args.workers, args.force, args.timeout, args.student,
                     args.scheduler)
    _print_results(results, root)
    print(f"\ngrades: {settings.grades_csv}   feedback: {root / settings.folders['feedback']}/<student>/<assignment>/")
    return 0


def cmd_demo(args) -> int:
    from helpers.instructor import demo, release

    root = _root(args)
    assignments = args.assignments or release.available_assignments(root)
    release.ensure_registered(root, assignments)
    expected = demo.create_demo_class(root, assignments)
    print(f"demo class written to submitted/: {', '.join(demo.STUDENTS)} x {', '.join(assignments)}")
    results = _grade(root, assignments, args.workers, False, args.timeout, list(demo.STUDENTS))
    _print_results(results, root)
    wrong = [(r.student, r.assignment, r.score, expected[(r.student, r.assignment)]) for r in results
             if (r.student, r.assignment) in expected and r.score != expected[(r.student, r.assignment)]]
    for student, assignment, got, want in wrong:
        print(f"UNEXPECTED: {student}/{assignment} scored {got:g}, expected {want:g}", file=sys.stderr)
        for r in results:
            if r.student == student and r.assignment == assignment:
                for c in r.cells:
                    if c.points < c.max_points:
                        print(f"    {c.grade_id}: {c.message}", file=sys.stderr)
    for r in results:
        if r.student == "partial_student":
            print(f"\npartial_student/{r.assignment}: what the feedback says of each mistake")
            for c in r.cells:
                if c.points < c.max_points:
                    said = [line for line in c.message.splitlines() if line.startswith(("Likely mistake", "Hint",
                                                                                       "What the error"))]
                    print(f"  {c.grade_id} [{c.mistake or 'no name'}]: " + (" ".join(said) or c.message[:200]))
    if not wrong:
        print("\ndemo: every student earned exactly the expected points.")
    return 1 if wrong else 0


def cmd_check(args) -> int:
    root = _root(args)
    path = Path(args.notebook).resolve()
    if not path.is_file():
        print(f"error: {args.notebook}: no such file.", file=sys.stderr)
        return 2
    from helpers import notebook_cells
    from helpers.recognise import UnknownAssignment, assignment_of

    try:
        assignment = assignment_of(path, root, args.assignment)
    except UnknownAssignment as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if assignment != path.stem and not args.assignment:
        print(f"{path.name}: {assignment} (told by its graded cells)", file=sys.stderr)
    from helpers.instructor import grading
    from helpers.instructor.settings import Settings

    before = path.read_bytes()
    settings = Settings.load(root, timeout=args.timeout)
    result = grading.check_private_copy(settings, assignment, path)
    assert path.read_bytes() == before
    if result.status != "graded":
        print(f"{path.name}: {result.status}: {result.reason}")
        return 1
    from helpers.instructor import outputs

    owner = notebook_cells.function_of_tests(notebook_cells.read_cells(settings.notebook("source", assignment)))
    print(outputs.check_table(assignment, result, owner))
    return 0


def cmd_refs(args) -> int:
    from helpers.instructor import references

    root = _root(args)
    for assignment in args.assignments or references.assignments_with_references():
        path = references.write(assignment, root)
        print(f"wrote {path}")
    return 0


def cmd_hub(args) -> int:
    from helpers.instructor import hub

    hub_dir = Path(args.hub_dir)
    try:
        if args.hub_command == "setup":
            settings, passwords = hub.setup(Path(args.roster), hub_dir, course_dir=args.course_dir,
                                            exchange_root=Path(args.exchange), ip=args.ip, port=args.port,
                                            lang=args.lang, mem=args.mem, cpu=args.cpu, auth=args.auth)
            print(f"class server set up in {settings.hub_dir}: course folder {settings.course_dir}, "
                  f"exchange {settings.exchange_root}")
            if passwords:
                print(f"{len(passwords)} account(s) made; their first passwords: "
                      f"{settings.hub_dir}/passwords.csv (root only)")
            print(f"start it with: {course_command()} hub start")
        elif args.hub_command == "start":
            print(f"JupyterHub runs at {hub.start(hub_dir)} (log: {hub_dir / 'hub.log'})")
        elif args.hub_command == "stop":
            print("stopped" if hub.stop(hub_dir) else "the hub was not running")
        elif args.roster_command == "add":
            password = hub.roster_add(hub_dir, hub.Member(args.id, args.name or args.id, args.group))
            print(f"{args.id} added" + (f"; first password: {password}" if password else ""))
        else:
            hub.roster_drop(hub_dir, args.id)
            print(f"{args.id} dropped: off the roster and the hub, account locked, files kept")
    except hub.HubError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


class _HelpAll(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from helpers.instructor.settings import help_all

        print(help_all())
        parser.exit()


def cmd_class_report(args) -> int:
    from helpers.instructor import class_report, release
    from helpers.instructor.settings import Settings

    root = _root(args)
    assignments = args.assignments or release.available_assignments(root)
    out = Path(args.out).resolve() if args.out else root / "class_report"
    for path in class_report.write_report(Settings.load(root), assignments, out):
        print(f"class report: {path}")
    return 0


def cmd_report(args) -> int:
    from helpers.report import command

    return command.report(args, _root(args))


def cmd_profile(args) -> int:
    from helpers.report import command

    return command.profile(args, _root(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    parser.add_argument("--root", help="course folder (default: the nearest folder with nbgrader_config.py)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help=_("build release/<id>/ from source/<id>/ through nbgrader, and "
                                         "release_zh/<id>/ from it and i18n/<id>.zh_CN.po"))
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("setup", help="fill notebooks/ from release/ without overwriting anything; create "
                                     "nbgrader's exchange, register the assignments, install the git filter, "
                                     "turn off JupyterLab's news-feed prompt and put course and nbgrader on "
                                     "the PATH of Lab's terminals in this environment")
    p.add_argument("--lang", choices=["en", "zh"], default="en",
                   help=_("the edition copied to notebooks/ and the language of JupyterLab's menus: en (English, "
                          "default) or zh (Chinese: the notebooks of release_zh/ and Lab's Chinese language pack)"))
    p.set_defaults(func=cmd_setup)

    p = sub.add_parser("translations", help=_("re-extract the notebooks' strings into i18n/<id>.<locale>.po "
                                              "(changed English becomes fuzzy, new English empty) and rebuild "
                                              "release_<lang>/"))
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    p.add_argument("--lang", choices=["zh"], default="zh", help=_("the edition (default zh)"))
    p.set_defaults(func=cmd_translations)

    p = sub.add_parser("normalize", help="strip outputs and Lab's metadata from notebooks, nbformat 4.5 with "
                                         "stable cell ids (default: source/*/*.ipynb; `course release` does it)")
    p.add_argument("notebooks", nargs="*", metavar="NOTEBOOK")
    p.set_defaults(func=cmd_normalize)

    def grading_options(p):
        p.add_argument("--workers", type=int, default=_default_workers(),
                       help="notebooks graded at once (default: the number of cores)")
        p.add_argument("--timeout", type=int, default=None,
                       help="seconds one cell may run (default: Execute.timeout in nbgrader_config.py)")

    p = sub.add_parser("demo", help="write a demo class to submitted/, grade it and print the table")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    grading_options(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("grade", help="autograde every submission, write feedback and grades.csv")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.add_argument("--force", action="store_true", help="grade again even what is already graded")
    p.add_argument("--help-all", action=_HelpAll, help="list every CourseGrader setting of nbgrader_config.py")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on a Dask cluster (e.g. tcp://host:8786) instead of local processes; "
                        "its workers must see this course folder at the same path")
    grading_options(p)
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("class-report", help="after `course grade`: an HTML page, PNG figures and CSV per assignment "
                                            "(scores, cells, named mistakes, failed notebooks, grading time)")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    p.add_argument("--out", help="folder to write to (default: class_report/ in the course folder)")
    p.set_defaults(func=cmd_class_report)

    p = sub.add_parser("check", help="grade one of your notebooks with the full tests; it is never modified")
    p.add_argument("notebook")
    p.add_argument("--assignment", choices=ASSIGNMENTS)
    p.add_argument("--timeout", type=int, default=None)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("refs", help="regenerate the checks' reference outputs from the source solutions")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    p.set_defaults(func=cmd_refs)

    p = sub.add_parser("report", help="make the lab report (实验报告) of one of your notebooks: PDF, Word, HTML")
    p.add_argument("notebook")
    p.add_argument("--assignment", choices=ASSIGNMENTS)
    p.add_argument("--lang", choices=("zh", "en"), help="headings and labels (default: the profile's, else zh)")
    p.add_argument("--to", nargs="+", choices=("pdf", "docx", "html"), metavar="FORMAT",
                   help="pdf, docx and/or html (default: all three)")
    p.add_argument("--out", help="the file to write (one format), or a folder "
                                 "(default: NOTEBOOK_report_LANG.EXT beside the notebook)")
    p.add_argument("--profile", help="the profile file (default: profile.toml beside the notebook, "
                                     "else notebooks/profile.toml)")
    p.add_argument("--date", help="the date on the report, YYYY-MM-DD (default: the profile's, else today)")
    p.add_argument("--rerun", action="store_true",
                   help="run the notebook again (on a copy, fast mode) even if it has outputs")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("profile", help="create or update your profile for `course report` (notebooks/profile.toml)")
    p.add_argument("--file", help="the profile file (default: notebooks/profile.toml)")
    for field in FIELDS:
        p.add_argument("--" + field.key.replace("_", "-"), dest=field.key, metavar="TEXT",
                       help=f"{field.zh} · {field.en}: {field.help}")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("hub", help="a class on one server (as root): JupyterHub, accounts from a roster, "
                                   "nbgrader's hub integration")
    p.add_argument("--hub-dir", default="/srv/cnn-course-hub", help="the hub's folder (default: %(default)s)")
    hub_sub = p.add_subparsers(dest="hub_command", required=True)
    q = hub_sub.add_parser("setup", help="install JupyterHub and its proxy, make the accounts, the course "
                                         "folder, the exchange and the configuration")
    q.add_argument("--roster", required=True, help="CSV file with the header id,name,group "
                                                   "(group: student or instructor)")
    q.add_argument("--lang", choices=("en", "zh"), default="en", help="the edition's language (COURSE_LANG)")
    q.add_argument("--mem", default="2G", help="memory of each user's server, e.g. 2G (default: %(default)s)")
    q.add_argument("--cpu", type=float, default=1.0, help="CPUs of each user's server (default: %(default)s)")
    q.add_argument("--ip", default="127.0.0.1", help="address the hub listens on (default: %(default)s)")
    q.add_argument("--port", type=int, default=8000, help="its port (default: %(default)s)")
    q.add_argument("--course-dir", help="the instructors' course folder (default: HUB_DIR/course)")
    q.add_argument("--exchange", default="/srv/nbgrader/exchange", help="nbgrader's exchange (default: %(default)s)")
    q.add_argument("--auth", choices=("pam", "dummy"), default="pam",
                   help="pam: Unix passwords; dummy: one shared password, for tests on 127.0.0.1 only")
    hub_sub.add_parser("start", help="start the hub in the background")
    hub_sub.add_parser("stop", help="stop the hub and every user's server")
    q = hub_sub.add_parser("roster", help="add a late student or drop one while the class runs")
    roster_sub = q.add_subparsers(dest="roster_command", required=True)
    r = roster_sub.add_parser("add", help="make the account and let them in")
    r.add_argument("id")
    r.add_argument("--name", help="full name (default: the id)")
    r.add_argument("--group", choices=("student", "instructor"), default="student")
    r = roster_sub.add_parser("drop", help="take them off the hub and lock the account; their files stay")
    r.add_argument("id")
    p.set_defaults(func=cmd_hub)

    for name in ("signs", "pretrain"):  # modules that bring their own subcommand
        try:
            module = importlib.import_module(f"helpers.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"helpers.{name}":
                raise
            continue
        module.add_cli(sub)
    return parser


# Errors a subcommand reports in one line, as (module, class): only a module that was loaded can have
# raised one, so none is imported for this.
REPORTED_ERRORS = (("helpers.instructor.batch", "GradingIncomplete"), ("helpers.instructor.settings", "SettingsError"))


def _reported_errors() -> tuple[type, ...]:
    return tuple(getattr(sys.modules[module], name) for module, name in REPORTED_ERRORS if module in sys.modules)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted: finished grades are kept; run the same command again to resume.", file=sys.stderr)
        return 130
    except Exception as exc:
        if not isinstance(exc, _reported_errors()):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
