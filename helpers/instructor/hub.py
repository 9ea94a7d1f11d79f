"""``course hub``: a class on one server with JupyterHub and nbgrader's hub integration.

As root on a Debian machine, ``course hub setup --roster roster.csv`` makes everything a class needs:

* JupyterHub in this course's environment (the ``hub`` extra of pyproject.toml) and its proxy,
  ``configurable-http-proxy`` from npm, in a prefix of the hub's folder (``node/``);
* a Unix account per roster line (``id,name,group`` with group ``student`` or ``instructor``), a
  random first password for each account it creates (``passwords.csv``, readable by root only);
* the instructor's course folder (``course/``: the checkout's ``nbgrader_config.py``, ``source/``
  and ``release/``, registered in its gradebook), writable by the instructors' Unix group
  ``formgrade-<course>`` and closed to everyone else;
* nbgrader's exchange at a root-owned path with nbgrader's permissions: the exchange root 1777, the
  course's ``inbound`` 3733 (students may write, not list; the sticky bit keeps anyone from removing or
  renaming another's hand-in), ``outbound`` readable;
* ``jupyter/nbgrader_config.py``, the class's nbgrader configuration every server reads
  (``JUPYTER_CONFIG_PATH``): the course id, the exchange, ``JupyterHubAuthPlugin`` and
  ``path_includes_course``, as in nbgrader's ``demo_multiple_classes``;
* ``jupyterhub_config.py`` from :data:`CONFIG_TEMPLATE` (rendered again by ``start`` and by roster
  changes, from ``settings.json`` and ``roster.csv``).

The hub's groups are nbgrader's: ``nbgrader-<course>`` (everyone on the roster: the hub tells nbgrader
which courses a user belongs to) and ``formgrade-<course>`` (the instructors). Each user's server is
JupyterHub's LocalProcessSpawner run as that Unix user (``helpers/instructor/hub_spawner.py`` adds the
memory and CPU limits and the working folder).
"""

from __future__ import annotations

import csv
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib.metadata import requires
from pathlib import Path
from string import Template

import requests

from helpers import i18n
from helpers.paths import course_root

COURSE_ID = "cnn-course"
DEFAULT_HUB_DIR = Path("/srv/cnn-course-hub")
DEFAULT_EXCHANGE = Path("/srv/nbgrader/exchange")
CHP_VERSION = "5.3.0"  # configurable-http-proxy from npm
GROUPS = ("student", "instructor")
# Accounts this command creates carry this mark in their GECOS field, so that `roster drop` and a test's
# clean-up remove only accounts the class server made.
ACCOUNT_MARK = "cnn-course hub"
USER_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,30}")
# What the course folder copies from the checkout (and the edition's release folder, e.g. release_zh/);
# the rest (submitted/, autograded/, ...) it makes.
COURSE_FILES = ("nbgrader_config.py", "source", "release")
# The lines `setup` appends to the course folder's nbgrader_config.py for the class's edition (--lang).
EDITION_MARK = "# The class server's edition (course hub setup --lang)"
# In the checkout, what a student must not read (solutions, hidden tests, other students' work).
CLOSED_IN_CHECKOUT = (
    "source",
    "tests",
    ".git",
    "submitted",
    "autograded",
    "feedback",
    "exchange",
    "gradebook.db",
    "grades.csv",
)
WRITABLE_IN_COURSE = ("submitted", "autograded", "feedback", "release")


class HubError(Exception):
    """A mistake in the command's input or the machine, said in words: what is wrong and what to do."""


@dataclass
class Member:
    id: str
    name: str
    group: str


@dataclass
class HubSettings:
    """Everything ``setup`` decided, kept in ``settings.json`` of the hub's folder."""

    hub_dir: str
    course_dir: str
    exchange_root: str
    checkout: str
    ip: str = "127.0.0.1"
    port: int = 8000
    lang: str = "en"
    mem: str = "2G"
    cpu: float = 1.0
    auth: str = "pam"
    test_password: str = ""
    owner: str = ""  # the instructor who owns the exchange's course folder
    ports: dict = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return Path(self.hub_dir)

    def save(self) -> None:
        (self.path / "settings.json").write_text(json.dumps(asdict(self), indent=2) + "\n")
        os.chmod(self.path / "settings.json", 0o600)

    @classmethod
    def load(cls, hub_dir: Path) -> HubSettings:
        path = Path(hub_dir) / "settings.json"
        if not path.is_file():
            raise HubError(
                f"{hub_dir} holds no class server: run `course hub setup --roster FILE` first (or pass --hub-dir)."
            )
        return cls(**json.loads(path.read_text()))


# ---------------------------------------------------------------------------------------------- roster


def read_roster(path: Path) -> list[Member]:
    """The roster's members; a line that is wrong stops everything, naming the line and what to fix."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise HubError(f"cannot read the roster {path}: {exc.strerror}") from None
    rows = list(csv.DictReader(text.splitlines()))
    if not rows or set(("id", "name", "group")) - set(rows[0]):
        raise HubError(
            f"{path}: the roster needs a header line `id,name,group` and one line per person "
            f"(group: student or instructor)"
        )
    members, seen = [], set()
    for number, row in enumerate(rows, start=2):
        member = Member(*(str(row.get(k) or "").strip() for k in ("id", "name", "group")))
        where = f"{path}, line {number}"
        if not USER_NAME.fullmatch(member.id):
            raise HubError(
                f"{where}: {member.id!r} is not a Unix user name: use lower-case letters, digits, "
                f"'_' and '-', starting with a letter, at most 31 characters"
            )
        if member.group not in GROUPS:
            raise HubError(f"{where}: group {member.group!r}: write student or instructor")
        if member.id in seen:
            raise HubError(f"{where}: {member.id} is listed twice")
        seen.add(member.id)
        members.append(member)
    if not any(m.group == "instructor" for m in members):
        raise HubError(f"{path}: no instructor: the class needs at least one line with group instructor")
    return members


def write_roster(path: Path, members: list[Member]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "group"])
        for m in members:
            writer.writerow([m.id, m.name, m.group])


# -------------------------------------------------------------------------------------------- accounts


def formgrade_group() -> str:
    return f"formgrade-{COURSE_ID}"


def student_group() -> str:
    return f"nbgrader-{COURSE_ID}"


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if proc.returncode:
        raise HubError(f"`{' '.join(command)}` failed: {(proc.stderr or proc.stdout).strip()}")
    return proc


def ensure_account(member: Member) -> str | None:
    """Create the Unix account (with a home folder) if missing; its first password, or None if it existed."""
    try:
        pwd.getpwnam(member.id)
    except KeyError:
        comment = f"{member.name.replace(':', ' ').replace(',', ' ')},,,,{ACCOUNT_MARK}"
        _run(
            [
                "useradd",
                "--create-home",
                "--key",
                "HOME_MODE=0700",
                "--shell",
                "/bin/bash",
                "--comment",
                comment,
                member.id,
            ]
        )
        password = secrets.token_urlsafe(12)
        _run(["chpasswd"], input=f"{member.id}:{password}\n")
        return password
    _run(["usermod", "--unlock", member.id])  # a student dropped and added again
    return None


def set_instructor_group(member: Member) -> None:
    if member.group == "instructor":
        _run(["usermod", "--append", "--groups", formgrade_group(), member.id])
    else:  # not a member (gpasswd says so when it was not one: nothing to do then)
        subprocess.run(["gpasswd", "--delete", member.id, formgrade_group()], capture_output=True)


def made_here(user: str) -> bool:
    try:
        return pwd.getpwnam(user).pw_gecos.endswith(ACCOUNT_MARK)
    except KeyError:
        return False


def remove_account(user: str) -> None:
    """Delete an account this command made, its processes and home folder (a test's clean-up)."""
    if not made_here(user):
        return
    subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
    subprocess.run(["userdel", "--remove", user], capture_output=True)


# ------------------------------------------------------------------------------------------- the files


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _hub_pin() -> str:
    for requirement in requires("cnn-course") or []:
        if 'extra == "hub"' in requirement:
            return requirement.split(";")[0].strip()
    raise HubError("the installed cnn-course has no `hub` extra: reinstall with `pip install -e .[hub]`")


def install_jupyterhub() -> None:
    try:
        import jupyterhub  # noqa: F401  (only asks whether it is installed)

        return
    except ImportError:
        pass
    _run([sys.executable, "-m", "pip", "install", "--quiet", _hub_pin()])


def install_proxy(hub_dir: Path) -> Path:
    """configurable-http-proxy from npm, in ``<hub_dir>/node`` (not the system's npm prefix)."""
    chp = hub_dir / "node" / "bin" / "configurable-http-proxy"
    if chp.exists():
        return chp
    npm = shutil.which("npm")
    if not npm:
        raise HubError("npm is missing: install Node.js first (as root: apt-get install nodejs npm)")
    _run(
        [
            npm,
            "install",
            "--global",
            "--prefix",
            str(hub_dir / "node"),
            "--no-audit",
            "--no-fund",
            f"configurable-http-proxy@{CHP_VERSION}",
        ],
        timeout=600,
    )
    return chp


def venv_bin() -> Path:
    return Path(sys.executable).parent


def open_environment_to_all(checkout: Path) -> list[str]:
    """Every user runs the course's environment: the Python installation it links to, the environment
    and ``helpers/`` readable by all, and every folder above them traversable (``o+x``, not listable).
    What a student must not read in the checkout (:data:`CLOSED_IN_CHECKOUT`) is closed to others.
    Returns what it changed, in words."""
    changed = []
    python = Path(os.path.realpath(sys.executable))
    installs = [Path(sys.prefix), Path(sys.base_prefix), checkout / "helpers"]
    for folder in {p for install in [*installs, python.parent] for p in install.parents}:
        mode = folder.stat().st_mode
        if mode & 0o001 == 0:
            os.chmod(folder, mode | 0o001)
            changed.append(f"{folder}: others may pass through (o+x), not list it")
    _run(["chmod", "-R", "o+rX", *map(str, installs)])
    for name in CLOSED_IN_CHECKOUT:
        path = checkout / name
        if path.exists() and path.stat().st_mode & 0o007:
            os.chmod(path, path.stat().st_mode & ~0o007)
            changed.append(f"{path}: closed to other users (o-rwx)")
    return changed


def make_course_folder(settings: HubSettings) -> None:
    """The instructors' course folder: a copy of the checkout's course files, theirs to grade in."""
    course, checkout = Path(settings.course_dir), Path(settings.checkout)
    course.mkdir(parents=True, exist_ok=True)
    edition = i18n.edition_folder(settings.lang)
    if not (checkout / edition / "cnn_step_by_step").is_dir():
        raise HubError(
            f"--lang {settings.lang}: the checkout has no {edition}/ folder: build it with `course release` first"
        )
    for name in dict.fromkeys([*COURSE_FILES, edition]):
        if not (course / name).exists():
            (shutil.copytree if (checkout / name).is_dir() else shutil.copy2)(checkout / name, course / name)
    set_edition(course / "nbgrader_config.py", settings.lang)
    for name in WRITABLE_IN_COURSE:
        (course / name).mkdir(exist_ok=True)
    _run([str(venv_bin() / "course"), "--root", str(course), "setup", "--lang", settings.lang], cwd=course, timeout=600)
    gid = _group_id(formgrade_group())
    for path in [course, *course.rglob("*")]:
        if path.is_symlink():
            continue
        os.chown(path, -1, gid)
        mode = path.stat().st_mode
        os.chmod(path, (mode | 0o060 | (0o2010 if path.is_dir() else 0)) & ~0o007)


def set_edition(config: Path, lang: str) -> None:
    """The course folder's nbgrader configuration hands out the ``lang`` edition: lines appended after
    :data:`EDITION_MARK` (replacing those of an earlier setup) set ``c.CourseGrader.language`` and the
    release folder that goes with it, so nbgrader's release_assignment and the exchange give students that
    edition and ``course grade`` reads it."""
    text = config.read_text(encoding="utf-8").split(f"\n{EDITION_MARK}\n")[0].rstrip("\n")
    config.write_text(
        f"{text}\n\n{EDITION_MARK}\nc.CourseGrader.language = {lang!r}\n"
        f"c.CourseDirectory.release_directory = {i18n.edition_folder(lang)!r}\n",
        encoding="utf-8",
    )


def _group_id(name: str) -> int:
    import grp

    return grp.getgrnam(name).gr_gid


def make_exchange(settings: HubSettings) -> None:
    """nbgrader's exchange, as nbgrader's release makes it, owned by the course's owner (an instructor)."""
    root = Path(settings.exchange_root)
    root.mkdir(parents=True, exist_ok=True)
    os.chown(root, 0, 0)
    os.chmod(root, 0o1777)  # nbgrader wants 777 here; the sticky bit keeps courses apart
    owner = pwd.getpwnam(settings.owner)
    course = root / COURSE_ID
    layout = {course: 0o2755, course / "outbound": 0o2755, course / "inbound": 0o3733}
    for path, mode in layout.items():
        path.mkdir(exist_ok=True)
        os.chown(path, owner.pw_uid, _group_id(formgrade_group()))
        os.chmod(path, mode)


CLASS_NBGRADER_CONFIG = Template("""\
# nbgrader configuration of the class server, read by every user's server (JUPYTER_CONFIG_PATH).
# Written by `course hub`; nbgrader's hub integration as in its demo_multiple_classes.
from nbgrader.auth import JupyterHubAuthPlugin

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "$course"
c.Exchange.root = "$exchange"
c.Exchange.path_includes_course = True
c.Authenticator.plugin_class = JupyterHubAuthPlugin
# A hand-in counts only for the Unix user who made it (helpers/instructor/hub_exchange.py).
c.ExchangeFactory.collect = "helpers.instructor.hub_exchange.OwnerCheckedCollect"
""")


CONFIG_TEMPLATE = Template("""\
# JupyterHub configuration of the class server. Written by `course hub` from settings.json and
# roster.csv in this folder: edit those (or run `course hub roster add/drop`), not this file.
c = get_config()  # noqa: F821

c.JupyterHub.ip = "$ip"
c.JupyterHub.port = $port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = $hub_port
c.ConfigurableHTTPProxy.command = ["$chp"]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:$proxy_api_port"
c.ConfigurableHTTPProxy.pid_file = "$hub_dir/proxy.pid"
c.JupyterHub.db_url = "sqlite:///$hub_dir/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "$hub_dir/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = "$hub_dir/hub.pid"

# Who may log in: the roster. $auth_comment
c.JupyterHub.authenticator_class = "$authenticator"
$auth_extra
c.Authenticator.allowed_users = $users
c.Authenticator.admin_users = $instructors

# Each user's JupyterLab runs as that Unix user (LocalProcessSpawner), with the course's environment,
# the class's nbgrader configuration and the limits below (see helpers/instructor/hub_spawner.py).
c.JupyterHub.spawner_class = "helpers.instructor.hub_spawner.CourseSpawner"
c.Spawner.cmd = ["$venv_bin/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.mem_limit = "$mem"
c.Spawner.cpu_limit = $cpu
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120
c.CourseSpawner.course_dir = "$course_dir"
c.CourseSpawner.instructors = $instructors
c.Spawner.environment = $environment

# nbgrader's groups: nbgrader-<course> tells JupyterHubAuthPlugin who takes the course,
# formgrade-<course> who grades it.
c.JupyterHub.load_groups = {
    "$student_group": {"users": $users},
    "$formgrade_group": {"users": $instructors},
}
c.JupyterHub.load_roles = [
    # A server's token may read its user's groups (JupyterHubAuthPlugin asks the hub for them).
    {"name": "server", "scopes": ["inherit"]},
    # `course hub roster add/drop` changes the users of a running hub through this service's token.
    {"name": "course-roster", "services": ["course-roster"],
     "scopes": ["admin:users", "admin:groups", "admin:servers", "tokens"]},
]
c.JupyterHub.services = [{"name": "course-roster", "api_token": open("$hub_dir/roster-token").read().strip()}]
""")


def render_config(settings: HubSettings, members: list[Member]) -> Path:
    hub = settings.path
    users = sorted(m.id for m in members)
    instructors = sorted(m.id for m in members if m.group == "instructor")
    if settings.auth == "dummy":
        authenticator = "dummy"
        auth_comment = "TEST ONLY: one shared password, allowed on 127.0.0.1 alone."
        auth_extra = f"c.DummyAuthenticator.password = {settings.test_password!r}"
    else:
        authenticator, auth_comment, auth_extra = "pam", "PAM: the users' Unix passwords.", ""
    environment = server_environment(settings)
    text = CONFIG_TEMPLATE.substitute(
        ip=settings.ip,
        port=settings.port,
        hub_port=settings.ports["hub"],
        proxy_api_port=settings.ports["proxy_api"],
        chp=hub / "node" / "bin" / "configurable-http-proxy",
        hub_dir=hub,
        authenticator=authenticator,
        auth_comment=auth_comment,
        auth_extra=auth_extra,
        users=repr(users),
        instructors=repr(instructors),
        venv_bin=venv_bin(),
        mem=settings.mem,
        cpu=settings.cpu,
        course_dir=settings.course_dir,
        environment=repr(environment),
        student_group=student_group(),
        formgrade_group=formgrade_group(),
    )
    (hub / "jupyterhub_config.py").write_text(text)
    jupyter = hub / "jupyter"
    jupyter.mkdir(exist_ok=True)
    (jupyter / "nbgrader_config.py").write_text(
        CLASS_NBGRADER_CONFIG.substitute(course=COURSE_ID, exchange=settings.exchange_root)
    )
    return hub / "jupyterhub_config.py"


# ------------------------------------------------------------------------------------------- commands


def _require_root() -> None:
    if os.geteuid() != 0:
        raise HubError("run this as root: it creates Unix accounts and starts servers as their users")


def setup(
    roster: Path,
    hub_dir: Path = DEFAULT_HUB_DIR,
    *,
    course_dir: Path | None = None,
    exchange_root: Path = DEFAULT_EXCHANGE,
    ip: str = "127.0.0.1",
    port: int = 8000,
    lang: str = "en",
    mem: str = "2G",
    cpu: float = 1.0,
    auth: str = "pam",
) -> tuple[HubSettings, dict[str, str]]:
    """Make the class server (see the module's docstring); the first passwords of the accounts it made."""
    _require_root()
    members = read_roster(roster)
    if auth == "dummy" and ip != "127.0.0.1":
        raise HubError(
            "the dummy authenticator (one shared password) is for tests: it binds to 127.0.0.1 "
            "only; use --auth pam on a real server"
        )
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?[KMGT]?", mem):
        raise HubError(f"--mem {mem!r}: write bytes with a unit, e.g. 2G or 512M")
    hub_dir = Path(hub_dir).resolve()
    hub_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(hub_dir, 0o755)
    checkout = course_root()
    settings = HubSettings(
        hub_dir=str(hub_dir),
        course_dir=str(Path(course_dir or hub_dir / "course").resolve()),
        exchange_root=str(Path(exchange_root).resolve()),
        checkout=str(checkout),
        ip=ip,
        port=port,
        lang=lang,
        mem=mem,
        cpu=cpu,
        auth=auth,
        test_password=secrets.token_urlsafe(12) if auth == "dummy" else "",
        owner=next(m.id for m in members if m.group == "instructor"),
        ports={"hub": _free_port(), "proxy_api": _free_port()},
    )  # `start` picks them again
    install_jupyterhub()
    install_proxy(hub_dir)
    for change in open_environment_to_all(checkout):
        print(change)
    subprocess.run(["groupadd", "--force", formgrade_group()], check=True, capture_output=True)
    passwords = {}
    for member in members:
        password = ensure_account(member)
        if password:
            passwords[member.id] = password
        set_instructor_group(member)
    _save_passwords(hub_dir, passwords)
    token = hub_dir / "roster-token"
    if not token.exists():
        token.write_text(secrets.token_hex(32) + "\n")
    os.chmod(token, 0o600)
    write_roster(hub_dir / "roster.csv", members)
    make_exchange(settings)
    make_course_folder(settings)
    settings.save()
    render_config(settings, members)
    return settings, passwords


def _save_passwords(hub_dir: Path, passwords: dict[str, str]) -> None:
    path = hub_dir / "passwords.csv"
    old = dict(csv.reader(path.read_text().splitlines()[1:])) if path.exists() else {}
    old.update(passwords)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "first_password"])
        writer.writerows(sorted(old.items()))


def _running_pid(settings: HubSettings) -> int | None:
    try:
        pid = int((settings.path / "hub.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def start(hub_dir: Path = DEFAULT_HUB_DIR, wait: float = 120) -> str:
    """Start JupyterHub in the background (log: ``hub.log``); its URL once it answers."""
    _require_root()
    settings = HubSettings.load(hub_dir)
    if _running_pid(settings):
        raise HubError(f"the hub already runs (pid {_running_pid(settings)}): `course hub stop` first")
    settings.ports = {"hub": _free_port(), "proxy_api": _free_port()}
    settings.save()
    config = render_config(settings, read_roster(settings.path / "roster.csv"))
    log = open(settings.path / "hub.log", "ab")
    env = dict(os.environ, PATH=f"{venv_bin()}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    subprocess.Popen(
        [str(venv_bin() / "jupyterhub"), "-f", str(config)],
        cwd=settings.path,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    url = f"http://{settings.ip}:{settings.port}/hub/api/"
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            api(settings, "GET", "")  # the proxy answers 404 until the hub has registered its route
            return url.removesuffix("hub/api/")
        except (OSError, HubError):
            pass
        time.sleep(0.5)
    raise HubError(f"the hub did not answer at {url} within {wait:g} s: see {settings.path / 'hub.log'}")


def stop(hub_dir: Path = DEFAULT_HUB_DIR, wait: float = 30) -> bool:
    """Stop the hub, its proxy and every user's server (SIGTERM, then SIGKILL). False if none ran."""
    settings = HubSettings.load(hub_dir)
    pid = _running_pid(settings)
    if pid is None:
        return False
    os.killpg(os.getpgid(pid), signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and _running_pid(settings):
        time.sleep(0.2)
    if _running_pid(settings):
        os.killpg(os.getpgid(pid), signal.SIGKILL)
    for member in read_roster(settings.path / "roster.csv"):  # servers run in sessions of their own
        subprocess.run(["pkill", "-KILL", "-u", member.id, "-f", "jupyterhub-singleuser"], capture_output=True)
    try:
        proxy = int((settings.path / "proxy.pid").read_text())
        os.kill(proxy, signal.SIGKILL)
    except (OSError, ValueError):
        pass
    return True


def api(settings: HubSettings, method: str, path: str, body: dict | None = None, token: str | None = None):
    """The hub's REST API (as the course-roster service unless a token is given); the JSON answer."""
    token = token or (settings.path / "roster-token").read_text().strip()
    try:
        answer = requests.request(
            method,
            f"http://{settings.ip}:{settings.port}/hub/api/{path}",
            json=body,
            headers={"Authorization": f"token {token}"},
            timeout=60,
        )
    except requests.RequestException as exc:
        raise HubError(f"the hub does not answer at {settings.ip}:{settings.port}: {exc}") from None
    if answer.status_code >= 400:
        raise HubError(f"the hub answered {answer.status_code} to {method} {path}: {answer.text[:300]}")
    return answer.json() if answer.content else {}


def roster_add(hub_dir: Path, member: Member) -> str | None:
    """A late student (or instructor): account, roster, config and, if the hub runs, the hub's user."""
    _require_root()
    settings = HubSettings.load(hub_dir)
    members = [m for m in read_roster(settings.path / "roster.csv") if m.id != member.id] + [member]
    roster = settings.path / "roster.csv"
    write_roster(roster.with_suffix(".new"), members)
    read_roster(roster.with_suffix(".new"))  # the same checks as setup's
    os.replace(roster.with_suffix(".new"), roster)
    password = ensure_account(member)
    set_instructor_group(member)
    if password:
        _save_passwords(settings.path, {member.id: password})
    render_config(settings, members)
    if _running_pid(settings):
        api(settings, "POST", f"users/{member.id}", {"admin": member.group == "instructor"}) if _hub_user(
            settings, member.id
        ) is None else None
        api(settings, "POST", f"groups/{student_group()}/users", {"users": [member.id]})
        if member.group == "instructor":
            api(settings, "POST", f"groups/{formgrade_group()}/users", {"users": [member.id]})
    return password


def _hub_user(settings: HubSettings, user: str):
    try:
        return api(settings, "GET", f"users/{user}")
    except HubError:
        return None


def roster_drop(hub_dir: Path, user: str) -> None:
    """A dropped student: off the roster and the hub, server stopped, account locked; their files kept."""
    _require_root()
    settings = HubSettings.load(hub_dir)
    members = read_roster(settings.path / "roster.csv")
    if user not in {m.id for m in members}:
        raise HubError(f"{user} is not on the roster ({settings.path / 'roster.csv'})")
    remaining = [m for m in members if m.id != user]
    if not any(m.group == "instructor" for m in remaining):
        raise HubError(f"{user} is the last instructor: add another before dropping them")
    write_roster(settings.path / "roster.csv", remaining)
    render_config(settings, remaining)
    if _running_pid(settings) and _hub_user(settings, user) is not None:
        api(settings, "DELETE", f"users/{user}")  # stops the server, removes the user from every group
    subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
    _run(["usermod", "--lock", "--expiredate", "1", user])


def server_environment(settings: HubSettings, user: str | None = None) -> dict[str, str]:
    """What every user's server gets beside JupyterHub's own variables: the course's environment first
    on PATH, the class's nbgrader configuration, the exchange and the edition's language. With a user:
    the same for running a command as that user outside the hub (HOME, USER, JUPYTERHUB_USER)."""
    language = {"zh": "zh_CN.UTF-8", "en": "C.UTF-8"}[settings.lang]
    environment = {
        "PATH": f"{venv_bin()}:/usr/local/bin:/usr/bin:/bin",
        "JUPYTER_CONFIG_PATH": str(settings.path / "jupyter"),
        "COURSE_EXCHANGE_ROOT": settings.exchange_root,
        "LANG": language,
        "LC_ALL": language,
        "LANGUAGE": {"zh": "zh_CN:zh", "en": "en"}[settings.lang],
        "COURSE_LANG": settings.lang,
    }
    if user:
        environment.update(
            HOME=pwd.getpwnam(user).pw_dir,
            USER=user,
            JUPYTERHUB_USER=user,
            JUPYTERHUB_API_URL=f"http://127.0.0.1:{settings.ports['hub']}/hub/api",
        )
    return environment
