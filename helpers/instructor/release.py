"""Student versions of the notebooks: ``release/`` through nbgrader, and the learner's ``notebooks/``."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from helpers import i18n
from helpers.instructor.settings import course_paths
from helpers.paths import ASSIGNMENTS


def available_assignments(root: Path) -> list[str]:
    return [a for a in ASSIGNMENTS if course_paths(root).notebook("source", a).is_file()]


def nbgrader(root: Path, *args: str, quiet: bool = True) -> subprocess.CompletedProcess:
    """Run an nbgrader command in the course folder with this Python's tools on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def normalize_sources(root: Path, assignments: list[str] | None = None) -> list[Path]:
    """Put ``source/<id>/*.ipynb`` in their normal form (what Lab added is removed); the files changed."""
    from helpers.instructor.normalize import normalize_file, source_notebooks

    return [path for path in source_notebooks(root, assignments) if normalize_file(path)]


def release(root: Path, assignments: list[str] | None = None, normalize: bool = True) -> list[Path]:
    """Regenerate ``release/<id>/`` from ``source/<id>/`` (and register the assignment in the gradebook).

    The source notebooks are normalised first (unless ``normalize`` is false), so that a notebook Lab
    saved (outputs, execution counts, Lab's metadata) releases exactly as the committed one does.
    Each edition in another language, ``release_<lang>/<id>/``, is then built from the new release and
    the assignment's catalogue ``i18n/<id>.<locale>.po`` (:mod:`helpers.instructor.translations`).
    ``release/`` is written whatever ``CourseDirectory.release_directory`` says: it is the English
    edition every other one is built from (the setting only chooses the edition nbgrader hands out).
    """
    from helpers.instructor import translations

    assignments = assignments or available_assignments(root)
    if normalize:
        normalize_sources(root, assignments)
    english = i18n.edition_folder(i18n.DEFAULT)
    written = []
    for assignment in assignments:
        nbgrader(
            root,
            "generate_assignment",
            assignment,
            "--force",
            "--log-level=ERROR",
            f"--CourseDirectory.release_directory={english}",
        )
        written.append(translations.edition_path(root, assignment, i18n.DEFAULT))
        written.extend(
            translations.write_edition(root, assignment, lang) for lang in translations.languages(root, assignment)
        )
    return written


def _source_points(root: Path, assignment: str) -> float:
    from helpers.instructor import notebooks as nbu

    nb = nbu.read_notebook(course_paths(root).notebook("source", assignment))
    return sum(nbu.points(c) for c in nbu.test_cells(nb))


def ensure_registered(root: Path, assignments: list[str]) -> None:
    """Every assignment is in the gradebook with its notebook, cells and points (Manual Grading shows
    them from the start); nbgrader records them when generate_assignment runs in this folder."""
    from helpers.instructor.settings import Settings

    url = Settings.load(root).gradebook_url
    missing = list(assignments)
    if not url.startswith("sqlite:///") or Path(url[len("sqlite:///") :]).is_file():
        from nbgrader.api import Gradebook

        with Gradebook(url) as gb:
            registered = {a.name: a.max_score for a in gb.assignments if a.notebooks}
        missing = [a for a in assignments if registered.get(a) != _source_points(root, a)]
    if missing:
        # generate_assignment rewrites each edition with identical bytes; keep the committed copies untouched anyway.
        released = [Path(root) / i18n.edition_folder(lang) / a / f"{a}.ipynb" for a in missing for lang in i18n.LOCALES]
        backup = {path: path.read_bytes() for path in released if path.is_file()}
        release(root, missing, normalize=False)  # grading never rewrites source/
        for path, data in backup.items():
            path.write_bytes(data)


def exchange_root(root: Path) -> Path:
    """nbgrader's exchange folder as ``nbgrader_config.py`` sets it (``Exchange.root``)."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    return Path(config.get("Exchange", {}).get("root", "/srv/nbgrader/exchange"))


def setup_exchange(root: Path) -> Path:
    """Create the exchange folder if it is missing, world-writable as nbgrader requires (it checks)."""
    path = exchange_root(root)
    path.mkdir(parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != 0o777:
        os.chmod(path, 0o777)
    return path


def install_output_filter(root: Path) -> str:
    """Install nbstripout as this checkout's git filter for notebooks; says what it did.

    ``.gitattributes`` (committed) routes every ``*.ipynb`` through the filter; the filter itself lives
    in the checkout's git config, which a repository cannot carry, so each instructor's clone gets it
    here. It keeps cell ids (``--keep-id``) and strips the keys of ``helpers.instructor.normalize``.
    """
    from helpers.instructor.normalize import EXTRA_KEYS

    def git(*args, check=True):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=check)

    try:
        top = git("rev-parse", "--show-toplevel", check=False)
    except FileNotFoundError:
        return "git is not installed: no output filter"
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != root.resolve():
        return "not a git checkout of the course: no output filter"
    subprocess.run(
        [sys.executable, "-m", "nbstripout", "--install", "--attributes", str(root / ".gitattributes")],
        cwd=root,
        check=True,
        capture_output=True,
    )
    git("config", "filter.nbstripout.clean", f'"{sys.executable}" -m nbstripout --keep-id')
    git("config", "filter.nbstripout.extrakeys", " ".join(EXTRA_KEYS))
    return "git filter nbstripout installed: outputs never reach a commit"


# What the course sets in JupyterLab for everyone who uses this environment: no news feed (Lab's
# first-visit prompt about it covers the student's notebook, and nothing in the course needs it).
LAB_SETTINGS = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


def lab_settings_file(prefix: Path | None = None) -> Path:
    """JupyterLab's defaults for an environment: ``<prefix>/share/jupyter/lab/settings/overrides.json``."""
    return Path(sys.prefix if prefix is None else prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def _edit_lab_defaults(prefix: Path | None, edit) -> tuple[str, Path, str]:
    """Apply ``edit`` (current settings -> new settings) to the environment's Lab defaults, keeping whatever
    the file already sets. Returns (what happened: "unchanged", "written" or "unreadable", "not an object",
    "unwritable"; the file; the reason)."""
    from helpers.instructor.outputs import atomic_write

    path = lab_settings_file(prefix)
    try:
        current = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, ValueError) as exc:
        return "unreadable", path, str(exc)
    if not isinstance(current, dict):
        return "not an object", path, ""
    merged = edit(current)
    if merged == current:
        return "unchanged", path, ""
    try:
        atomic_write(path, json.dumps(merged, indent=2) + "\n")
    except OSError as exc:
        return "unwritable", path, str(exc)
    return "written", path, ""


def quiet_lab_notices(prefix: Path | None = None) -> str:
    """Add :data:`LAB_SETTINGS` to the environment's Lab defaults, keeping what the file already sets; says
    what it did. Each user can still change them in Lab's Settings."""

    def edit(current: dict) -> dict:
        merged = dict(current)
        for plugin, settings in LAB_SETTINGS.items():
            mine = merged.get(plugin) if isinstance(merged.get(plugin), dict) else {}
            merged[plugin] = {**settings, **mine}
        return merged

    done, path, reason = _edit_lab_defaults(prefix, edit)
    return {
        "unreadable": f"JupyterLab settings {path} left as they are: cannot read them as JSON ({reason})",
        "not an object": f"JupyterLab settings {path} left as they are: not a JSON object",
        "unchanged": "JupyterLab: no news-feed prompt (already set)",
        "unwritable": f"JupyterLab will ask each user about Jupyter's news feed: cannot write {path} ({reason})",
        "written": f"JupyterLab: no news-feed prompt ({path})",
    }[done]


# JupyterLab's own language pack (jupyterlab-language-pack-<locale>, installed with the course) for each edition.
LAB_LOCALES = {"en": "en", "zh": "zh_CN"}
LAB_TRANSLATION_PLUGIN = "@jupyterlab/translation-extension:plugin"


def lab_language(lang: str, prefix: Path | None = None) -> str:
    """Make ``lang`` the language of JupyterLab's menus and dialogs in this environment; says what it did.

    It sets the translation plugin's ``locale`` in the environment's Lab defaults (``overrides.json``),
    keeping everything else there. A user who picked a language in Lab's Settings menu keeps it (their
    own settings win over these defaults).
    """
    locale = LAB_LOCALES[lang]

    def edit(current: dict) -> dict:
        plugin = current.get(LAB_TRANSLATION_PLUGIN)
        plugin = plugin if isinstance(plugin, dict) else {}
        return {**current, LAB_TRANSLATION_PLUGIN: {**plugin, "locale": locale}}

    done, path, reason = _edit_lab_defaults(prefix, edit)
    return {
        "unreadable": f"JupyterLab's language left as it is: cannot read {path} as JSON ({reason})",
        "not an object": f"JupyterLab's language left as it is: {path} is not a JSON object",
        "unchanged": f"JupyterLab's language: {locale} (already set)",
        "unwritable": f"JupyterLab's language left as it is: cannot write {path} ({reason})",
        "written": f"JupyterLab's language: {locale} ({path})",
    }[done]


# JupyterLab's terminals in this environment run bash with this start-up file (beside the server config).
TERMINAL_RC = "cnn-course-terminal.bashrc"


def terminal_rc(bin_dir: Path) -> str:
    """The start-up file of Lab's terminals: a login shell's files, then ``bin_dir`` first on PATH."""
    return f"""# Written by `course setup`: the start-up file of JupyterLab's terminals in this environment.
# bash reads it instead of its usual files, so it reads those first, as a login shell does (Jupyter
# starts one when it is not run from a terminal), then puts this environment's commands (course,
# nbgrader, python) first on PATH: /etc/profile may have set PATH afresh.
[ -r /etc/profile ] && . /etc/profile
if [ -r ~/.bash_profile ]; then . ~/.bash_profile
elif [ -r ~/.bash_login ]; then . ~/.bash_login
elif [ -r ~/.profile ]; then . ~/.profile
fi
PATH={shlex.quote(str(bin_dir))}:"$PATH"
export PATH
"""


def server_config_file(prefix: Path | None = None) -> Path:
    """Jupyter server's settings for an environment: ``<prefix>/etc/jupyter/jupyter_server_config.json``."""
    return Path(sys.prefix if prefix is None else prefix) / "etc" / "jupyter" / "jupyter_server_config.json"


def lab_terminal_commands(prefix: Path | None = None) -> str:
    """Make ``course`` and ``nbgrader`` run in the terminals of Lab started from this environment (the files go
    under ``prefix``, default :data:`sys.prefix`); says what it did.

    Lab started as ``.venv/bin/jupyter lab`` has this environment's Python but not its ``bin`` on PATH,
    and a login shell's ``/etc/profile`` (Debian's) sets PATH afresh anyway. The server setting
    ``ServerApp.terminado_settings["shell_command"]`` starts every terminal as ``bash --rcfile FILE -i``,
    where FILE (:func:`terminal_rc`) reads the usual start-up files and then puts ``bin`` first on PATH.
    A shell command someone else set in that file is kept.
    """
    from helpers.instructor.outputs import atomic_write

    bin_dir = Path(sysconfig.get_path("scripts"))  # where pip put this environment's `course` and `nbgrader`
    fallback = f"type commands with their path ({bin_dir}/course)"
    bash = shutil.which("bash")
    if bash is None:
        return f"JupyterLab's terminals: bash is not installed; {fallback}"
    path = server_config_file(prefix)
    rc = path.parent / TERMINAL_RC
    try:
        current = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, ValueError) as exc:
        return f"JupyterLab's terminals: {path} left as it is: cannot read it as JSON ({exc}); {fallback}"
    server = current.get("ServerApp") if isinstance(current, dict) else None
    terminado = server.get("terminado_settings") if isinstance(server, dict) else None
    if (
        not isinstance(current, dict)
        or (server is not None and not isinstance(server, dict))
        or (terminado is not None and not isinstance(terminado, dict))
    ):
        return f"JupyterLab's terminals: {path} left as it is: not the JSON objects Jupyter reads; {fallback}"
    theirs = (terminado or {}).get("shell_command")
    if theirs and str(rc) not in theirs:
        return f"JupyterLab's terminals: {path} sets its own shell command {theirs}, kept; {fallback}"
    merged = {
        **current,
        "ServerApp": {
            **(server or {}),
            "terminado_settings": {**(terminado or {}), "shell_command": [bash, "--rcfile", str(rc), "-i"]},
        },
    }
    try:
        atomic_write(rc, terminal_rc(bin_dir))
        atomic_write(path, json.dumps(merged, indent=2) + "\n")
    except OSError as exc:
        return f"JupyterLab's terminals: cannot write {exc.filename} ({exc.strerror}); {fallback}"
    return f"JupyterLab's terminals: {bin_dir} first on PATH, so course and nbgrader run there ({path})"


def setup_notebooks(root: Path, lang: str = "en") -> list[Path]:
    """Copy each released notebook of the ``lang`` edition (``release/`` for English, ``release_<lang>/``
    otherwise) to ``notebooks/`` unless a file of that name is already there."""
    target = root / "notebooks"
    target.mkdir(exist_ok=True)
    copied = []
    for assignment in available_assignments(root):
        src_dir = root / i18n.edition_folder(lang) / assignment
        if not src_dir.is_dir():
            continue
        for item in sorted(src_dir.iterdir()):
            if not item.is_file():
                continue
            dest = target / item.name
            if dest.exists():
                continue
            shutil.copy2(item, dest)
            copied.append(dest)
    return copied
