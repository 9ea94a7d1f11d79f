"""``course``: the one command for instructors and learners, thin over nbgrader and the helpers."""

# Start-up time: this module holds the parser and nothing of any command's work. Each subcommand's work
# is a function in a module of its own (``run="module:function"`` below), imported only when that
# subcommand runs, so that `course --help`, `course profile` and argument errors answer at once and
# nbgrader, nbclient and TensorFlow (seconds each) load only for the commands that use them.
# tests/test_kernel_imports.py asserts what the quick commands load; benchmarks/commands.py times them.

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from helpers import i18n
from helpers.i18n import N_
from helpers.i18n import gettext as _
from helpers.paths import ASSIGNMENTS, course_root
from helpers.recognise import UnknownAssignment, assignment_of
from helpers.report.profile import FIELDS


def _default_workers() -> int:
    return max(1, os.cpu_count() or 1)


class _HelpAll(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from helpers.instructor.settings import help_all

        print(help_all())
        parser.exit()


# Subcommands whose module declares its own arguments (``add_cli``): the module loads numpy or TensorFlow,
# so it is imported only when its subcommand runs; its one-line help is here for `course --help`.
OWN_PARSER = {
    "data": ("helpers.signs", _("show, generate or import the SIGNS data")),
    "pretrain": (
        "helpers.pretrain",
        _("train the residual_networks ResNet-50 on the SIGNS data in use and save its weights"),
    ),
}


def notebook_argument(args, root: Path) -> int | None:
    """``course check``: the notebook is a file and its assignment is told (``args`` gets both), else 2."""
    path = Path(args.notebook).resolve()
    if not path.is_file():
        print(_("error: {path}: no such file.").format(path=args.notebook), file=sys.stderr)
        return 2
    try:
        assignment = assignment_of(path, root, args.assignment)
    except UnknownAssignment as exc:
        print(_("error: {message}").format(message=exc), file=sys.stderr)
        return 2
    if assignment != path.stem and not args.assignment:
        print(
            _("{name}: {assignment} (told by its graded cells)").format(name=path.name, assignment=assignment),
            file=sys.stderr,
        )
    args.notebook, args.assignment = path, assignment
    return None


def assignment_arguments(args, root: Path) -> int | None:
    """``course grade``: every assignment named is one of the course's, else 2."""
    for name in args.assignments:
        if name not in ASSIGNMENTS:
            print(
                _("error: unknown assignment {name!r}; choose from {choices}").format(
                    name=name, choices=", ".join(ASSIGNMENTS)
                ),
                file=sys.stderr,
            )
            return 2
    return None


# argparse's own words (Lib/argparse.py of Python 3.11) that a reader of `course` can meet: the usage line,
# the headings, -h's help, and its argument errors. argparse looks each up when it writes it, through
# ``argparse._`` and ``argparse.ngettext`` (gettext's functions, bound when argparse is imported), so the
# Chinese of these msgids comes from the course's catalogue once speak_the_language() has pointed those two
# at it. Marked here so that the catalogue test holds the catalogue to them.
ARGPARSE_WORDS = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("expected %s argument"),  # a plural entry: "expected %s arguments"
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("unexpected option string: %s"),
    N_("not allowed with argument %s"),
    N_("ignored explicit argument %r"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("can't open '%(filename)s': %(error)s"),
)


def speak_the_language() -> None:
    """argparse's own words in the reader's language: its lookups go through the course's catalogue, in the
    language of the moment (:func:`helpers.i18n.language`); English is argparse's text itself."""
    if argparse._ is not _:
        argparse._ = _
        argparse.ngettext = lambda singular, plural, n: i18n.ngettext(singular, plural, n)


def build_parser() -> argparse.ArgumentParser:
    speak_the_language()
    parser = argparse.ArgumentParser(
        prog="course",
        description=_("``course``: the one command for instructors and learners, thin over nbgrader and the helpers."),
    )
    parser.add_argument("--root", help=_("course folder (default: the nearest folder with nbgrader_config.py)"))
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "release",
        help=_(
            "build release/<id>/ from source/<id>/ through nbgrader, and "
            "release_zh/<id>/ from it and i18n/<id>.zh_CN.po"
        ),
    )
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    p.set_defaults(run="helpers.commands.release:run")

    p = sub.add_parser(
        "setup",
        help=_(
            "fill notebooks/ from release/ without overwriting anything; create "
            "nbgrader's exchange, register the assignments, install the git filter, "
            "turn off JupyterLab's news-feed prompt and put course and nbgrader on "
            "the PATH of Lab's terminals in this environment"
        ),
    )
    p.add_argument(
        "--lang",
        choices=["en", "zh"],
        default="en",
        help=_(
            "the edition copied to notebooks/ and the language of JupyterLab's menus: en (English, "
            "default) or zh (Chinese: the notebooks of release_zh/ and Lab's Chinese language pack)"
        ),
    )
    p.set_defaults(run="helpers.commands.setup:run")

    p = sub.add_parser(
        "translations",
        help=_(
            "re-extract the notebooks' strings into i18n/<id>.<locale>.po "
            "(changed English becomes fuzzy, new English empty) and rebuild "
            "release_<lang>/"
        ),
    )
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    p.add_argument("--lang", choices=["zh"], default="zh", help=_("the edition (default zh)"))
    p.set_defaults(run="helpers.commands.translations:run")

    p = sub.add_parser(
        "normalize",
        help=_(
            "strip outputs and Lab's metadata from notebooks, nbformat 4.5 with "
            "stable cell ids (default: source/*/*.ipynb; `course release` does it)"
        ),
    )
    p.add_argument("notebooks", nargs="*", metavar="NOTEBOOK")
    p.set_defaults(run="helpers.commands.normalize:run")

    def grading_options(p):
        p.add_argument(
            "--workers",
            type=int,
            default=_default_workers(),
            help=_("notebooks graded at once (default: the number of cores)"),
        )
        p.add_argument(
            "--timeout",
            type=int,
            default=None,
            help=_("seconds one cell may run (default: Execute.timeout in nbgrader_config.py)"),
        )
        p.add_argument(
            "--log-level",
            choices=("DEBUG", "INFO", "WARNING"),
            default="WARNING",
            help=_(
                "the grader's log on stderr: INFO says what ran, how long it took and each limit "
                "that acted; DEBUG adds every cell and call (default: WARNING, problems only)"
            ),
        )

    p = sub.add_parser("demo", help=_("write a demo class to submitted/, grade it and print the table"))
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    grading_options(p)
    p.set_defaults(run="helpers.commands.demo:run")

    p = sub.add_parser("grade", help=_("autograde every submission, write feedback and grades.csv"))
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    p.add_argument("--student", action="append", help=_("only this student (repeatable)"))
    p.add_argument("--force", action="store_true", help=_("grade again even what is already graded"))
    p.add_argument("--help-all", action=_HelpAll, help=_("list every CourseGrader setting of nbgrader_config.py"))
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=_(
            "grade on a Dask cluster (e.g. tcp://host:8786) instead of local processes; "
            "its workers must see this course folder at the same path"
        ),
    )
    grading_options(p)
    p.set_defaults(run="helpers.commands.grade:run", check_arguments=assignment_arguments)

    p = sub.add_parser(
        "class-report",
        help=_(
            "after `course grade`: an HTML page, PNG figures and CSV per assignment "
            "(scores, cells, named mistakes, failed notebooks, grading time)"
        ),
    )
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    p.add_argument("--out", help=_("folder to write to (default: class_report/ in the course folder)"))
    p.set_defaults(run="helpers.commands.class_report:run")

    p = sub.add_parser("check", help=_("grade one of your notebooks with the full tests; it is never modified"))
    p.add_argument("notebook")
    p.add_argument("--assignment", choices=ASSIGNMENTS)
    p.add_argument("--timeout", type=int, default=None)
    p.set_defaults(run="helpers.commands.check:run", check_arguments=notebook_argument)

    p = sub.add_parser("refs", help=_("regenerate the checks' reference outputs from the source solutions"))
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    p.set_defaults(run="helpers.commands.refs:run")

    p = sub.add_parser("report", help=_("make the lab report (实验报告) of one of your notebooks: PDF, Word, HTML"))
    p.add_argument("notebook")
    p.add_argument("--assignment", choices=ASSIGNMENTS)
    p.add_argument("--lang", choices=("zh", "en"), help=_("headings and labels (default: the profile's, else zh)"))
    p.add_argument(
        "--to",
        nargs="+",
        choices=("pdf", "docx", "html"),
        metavar="FORMAT",
        help=_("pdf, docx and/or html (default: all three)"),
    )
    p.add_argument(
        "--out",
        help=_("the file to write (one format), or a folder (default: NOTEBOOK_report_LANG.EXT beside the notebook)"),
    )
    p.add_argument(
        "--profile", help=_("the profile file (default: profile.toml beside the notebook, else notebooks/profile.toml)")
    )
    p.add_argument("--date", help=_("the date on the report, YYYY-MM-DD (default: the profile's, else today)"))
    p.add_argument(
        "--rerun", action="store_true", help=_("run the notebook again (on a copy, fast mode) even if it has outputs")
    )
    p.set_defaults(run="helpers.report.command:report")

    p = sub.add_parser("profile", help=_("create or update your profile for `course report` (notebooks/profile.toml)"))
    p.add_argument("--file", help=_("the profile file (default: notebooks/profile.toml)"))
    for field in FIELDS:
        p.add_argument(
            "--" + field.key.replace("_", "-"),
            dest=field.key,
            metavar="TEXT",
            help=f"{field.zh} · {field.en}: {field.help}",
        )
    p.set_defaults(run="helpers.commands.profile:run")

    p = sub.add_parser(
        "hub", help=_("a class on one server (as root): JupyterHub, accounts from a roster, nbgrader's hub integration")
    )
    p.add_argument("--hub-dir", default="/srv/cnn-course-hub", help=_("the hub's folder (default: %(default)s)"))
    hub_sub = p.add_subparsers(dest="hub_command", required=True)
    q = hub_sub.add_parser(
        "setup",
        help=_(
            "install JupyterHub and its proxy, make the accounts, the course folder, the exchange and the configuration"
        ),
    )
    q.add_argument(
        "--roster", required=True, help=_("CSV file with the header id,name,group (group: student or instructor)")
    )
    q.add_argument(
        "--lang",
        choices=("en", "zh"),
        default="en",
        help=_("the edition students get (release/ or release_zh/) and their servers' language"),
    )
    q.add_argument("--mem", default="2G", help=_("memory of each user's server, e.g. 2G (default: %(default)s)"))
    q.add_argument("--cpu", type=float, default=1.0, help=_("CPUs of each user's server (default: %(default)s)"))
    q.add_argument("--ip", default="127.0.0.1", help=_("address the hub listens on (default: %(default)s)"))
    q.add_argument("--port", type=int, default=8000, help=_("its port (default: %(default)s)"))
    q.add_argument("--course-dir", help=_("the instructors' course folder (default: HUB_DIR/course)"))
    q.add_argument("--exchange", default="/srv/nbgrader/exchange", help=_("nbgrader's exchange (default: %(default)s)"))
    q.add_argument(
        "--auth",
        choices=("pam", "dummy"),
        default="pam",
        help=_("pam: Unix passwords; dummy: one shared password, for tests on 127.0.0.1 only"),
    )
    hub_sub.add_parser("start", help=_("start the hub in the background"))
    hub_sub.add_parser("stop", help=_("stop the hub and every user's server"))
    q = hub_sub.add_parser("roster", help=_("add a late student or drop one while the class runs"))
    roster_sub = q.add_subparsers(dest="roster_command", required=True)
    r = roster_sub.add_parser("add", help=_("make the account and let them in"))
    r.add_argument("id")
    r.add_argument("--name", help=_("full name (default: the id)"))
    r.add_argument("--group", choices=("student", "instructor"), default="student")
    r = roster_sub.add_parser("drop", help=_("take them off the hub and lock the account; their files stay"))
    r.add_argument("id")
    p.set_defaults(run="helpers.commands.hub:run")

    for name, (_module, text) in OWN_PARSER.items():
        # Named here with their one-line help; their arguments are the module's own (see main).
        sub.add_parser(name, help=text, add_help=False)
    return parser


# Errors a subcommand reports in one line, as (module, class): only a module that was loaded can have
# raised one, so none is imported for this.
REPORTED_ERRORS = (("helpers.instructor.batch", "GradingIncomplete"), ("helpers.instructor.settings", "SettingsError"))


def _reported_errors() -> tuple[type, ...]:
    return tuple(getattr(sys.modules[module], name) for module, name in REPORTED_ERRORS if module in sys.modules)


def _subcommand(parser: argparse.ArgumentParser, argv: list[str] | None):
    """The parsed arguments and the subcommand's function, or the exit status of an argument error.

    Imports inside this function are on purpose, the only ones in this module: the module of the
    subcommand that runs is imported here, and no other.
    """
    args, rest = parser.parse_known_args(argv)
    if args.command in OWN_PARSER:
        own = argparse.ArgumentParser(prog=parser.prog)
        importlib.import_module(OWN_PARSER[args.command][0]).add_cli(own.add_subparsers(dest="command"))
        args = own.parse_args([args.command, *rest])
        return args, lambda args, root: args.func(args)
    if rest:
        parser.error(_("unrecognized arguments: %s") % " ".join(rest))
    root = Path(args.root).resolve() if args.root else course_root()
    check_arguments = getattr(args, "check_arguments", None)
    problem = check_arguments(args, root) if check_arguments is not None else None
    if problem is not None:
        return args, problem
    module, function = args.run.split(":")
    return args, getattr(importlib.import_module(module), function)


def main(argv: list[str] | None = None) -> int:
    args, run = _subcommand(build_parser(), argv)
    if isinstance(run, int):
        return run
    try:
        return int(run(args, Path(args.root).resolve() if getattr(args, "root", None) else course_root()) or 0)
    except KeyboardInterrupt:
        print("\n" + _("interrupted: finished grades are kept; run the same command again to resume."), file=sys.stderr)
        return 130
    except Exception as exc:
        if not isinstance(exc, _reported_errors()):
            raise
        print(_("error: {message}").format(message=exc), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
