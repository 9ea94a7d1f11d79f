"""The class server (`course hub`): real Unix accounts, JupyterHub on 127.0.0.1, nbgrader's hub integration.

One instructor and three students from a generated roster (account names with a random prefix, all
removed at the end, with every process of theirs). A student logs in through PAM in headless Chromium
and gets Lab; fetches and submits through their server's nbgrader handlers (the REST calls Lab's
Assignment List makes), having answered one function; the instructor collects and runs `course grade`,
releases feedback; the student fetches it and the page shows the score. A second student can read
neither the exchange's inbound nor the first's server, and a hand-in filed under the first's name is
refused at collect. Then 30 students added with `roster add` fetch and submit at once; each is collected
exactly once and every fifth graded (see the load test's docstring). Needs root, npm and chromium (`.ci/run`
installs them).
COURSE_BROWSER_SCREENSHOTS=DIR keeps the screenshots.
"""

from __future__ import annotations

import csv
import grp
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
import requests

pytestmark = [pytest.mark.exhaustive, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if os.geteuid() != 0:
    pytest.skip("the class server makes Unix accounts: run as root", allow_module_level=True)
if not (shutil.which("npm") and shutil.which("node")):
    pytest.skip("needs node and npm for configurable-http-proxy (see .ci/run)", allow_module_level=True)
if not (CHROMIUM and shutil.which("chromedriver")):
    pytest.skip("needs chromium and chromedriver (see .ci/run)", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from helpers import i18n  # noqa: E402
from helpers.instructor import hub  # noqa: E402
from helpers.instructor.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "cnn_step_by_step"
ANSWERED = "zero_pad"  # the one function the browser's student answers
LOAD_STUDENTS = 30
SHOTS = os.environ.get("COURSE_BROWSER_SCREENSHOTS")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _modes(paths) -> dict[Path, int]:
    return {p: p.stat().st_mode & 0o7777 for p in paths if p.exists()}


class Class:
    def __init__(self, settings, passwords, instructor, students):
        self.settings, self.passwords, self.instructor, self.students = settings, passwords, instructor, students
        self.base = f"http://127.0.0.1:{settings.port}"
        self.tokens: dict[str, str] = {}

    def run_as(self, user: str, *command: str, cwd: str | None = None, env: dict | None = None, timeout=600):
        """A command as that Unix user, in the environment their server has (`hub.server_environment`)."""
        account = pwd.getpwnam(user)
        return subprocess.run(
            command,
            cwd=cwd or account.pw_dir,
            timeout=timeout,
            capture_output=True,
            text=True,
            env={**hub.server_environment(self.settings, user), **(env or {})},
            user=account.pw_uid,
            group=account.pw_gid,
            extra_groups=os.getgrouplist(user, account.pw_gid),
        )

    def token(self, user: str) -> str:
        if user not in self.tokens:
            self.tokens[user] = hub.api(self.settings, "POST", f"users/{user}/tokens", {"expires_in": 3600})["token"]
        return self.tokens[user]

    def server(self, user: str) -> tuple[str, dict]:
        """The user's running server (started if need be): its URL and the headers that reach it."""
        url, headers = f"{self.base}/user/{user}/", {"Authorization": f"token {self.token(user)}"}
        if not hub.api(self.settings, "GET", f"users/{user}")["servers"]:
            hub.api(self.settings, "POST", f"users/{user}/server")
        deadline = time.monotonic() + 180
        while requests.get(url + "api/status", headers=headers, timeout=30).status_code != 200:
            assert time.monotonic() < deadline, f"{user}'s server did not start: see {self.settings.hub_dir}/hub.log"
            time.sleep(1)
        return url, headers


@pytest.fixture(scope="module")
def klass():
    prefix = "h" + secrets.token_hex(3)
    instructor, students = f"{prefix}i", [f"{prefix}s{k}" for k in (1, 2, 3)]
    folder = Path(tempfile.mkdtemp(prefix="course-hub-"))
    os.chmod(folder, 0o755)
    roster = folder / "roster.csv"
    roster.write_text(
        "id,name,group\n"
        + f"{instructor},Ada Instructor,instructor\n"
        + "".join(f"{s},Student {k},student\n" for k, s in enumerate(students, 1))
    )
    # setup opens the folders above the Python installation to others (o+x) and closes parts of the checkout:
    # put their modes back afterwards.
    python_dirs = {
        p for base in (sys.prefix, sys.base_prefix, os.path.realpath(sys.executable)) for p in Path(base).parents
    }
    modes = _modes([*python_dirs, *(ROOT / name for name in hub.CLOSED_IN_CHECKOUT)])
    hub_dir = folder / "hub"
    group_was_there = _group_exists(hub.formgrade_group())
    try:
        started = time.monotonic()
        settings, passwords = hub.setup(
            roster, hub_dir, exchange_root=folder / "exchange", port=_free_port(), mem="1G", cpu=1.0
        )
        hub.start(hub_dir)
        settings = hub.HubSettings.load(hub_dir)  # with the ports start chose
        print(f"\nsetup and start: {time.monotonic() - started:.0f} s")
        yield Class(settings, passwords, instructor, students)
    finally:
        if (hub_dir / "settings.json").exists():
            hub.stop(hub_dir)
        for account in pwd.getpwall():
            if account.pw_name.startswith(prefix):
                hub.remove_account(account.pw_name)
        if not group_was_there:
            subprocess.run(["groupdel", hub.formgrade_group()], capture_output=True)
        for path, mode in modes.items():
            os.chmod(path, mode)
        shutil.rmtree(folder, ignore_errors=True)


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def _shot(driver, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SHOTS) / f"hub_{name}.png"))


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _answer(notebook: dict, function: str) -> dict:
    """The student's notebook with one function answered: the source notebook's solution cell."""
    source = nbformat.read(ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    solution = next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id") == function)
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == function:
            cell["source"] = solution.source
    return notebook


def _grades(klass) -> dict[str, dict]:
    with open(Path(klass.settings.course_dir) / "grades.csv") as handle:
        return {row["student"]: row for row in csv.DictReader(handle) if row["assignment"] == ASSIGNMENT}


def test_the_whole_loop_through_the_hub(klass, browser):
    settings, first, second = klass.settings, klass.students[0], klass.students[1]
    course = settings.course_dir
    released = klass.run_as(klass.instructor, "nbgrader", "release_assignment", ASSIGNMENT, cwd=course)
    assert released.returncode == 0, released.stderr

    # The first student logs in (PAM, the first password setup made) and gets JupyterLab.
    browser.get(f"{klass.base}/hub/login")
    browser.find_element(By.ID, "username_input").send_keys(first)
    browser.find_element(By.ID, "password_input").send_keys(klass.passwords[first])
    browser.find_element(By.ID, "login_submit").click()
    WebDriverWait(browser, 180).until(
        lambda d: f"/user/{first}/lab" in d.current_url and d.find_elements(By.ID, "jp-main-dock-panel")
    )
    _shot(browser, "student_lab")

    # Fetch, answer one function, submit: the Assignment List's calls to the student's server.
    url, headers = klass.server(first)
    fetched = requests.post(
        url + "assignments/fetch",
        headers=headers,
        timeout=120,
        data={"course_id": hub.COURSE_ID, "assignment_id": ASSIGNMENT},
    ).json()
    assert fetched["success"], fetched
    path = f"{hub.COURSE_ID}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    notebook = requests.get(url + f"api/contents/{path}", headers=headers, timeout=60).json()["content"]
    saved = requests.put(
        url + f"api/contents/{path}",
        headers=headers,
        timeout=60,
        json={"type": "notebook", "content": _answer(notebook, ANSWERED)},
    )
    assert saved.status_code == 200, saved.text
    submitted = requests.post(
        url + "assignments/submit",
        headers=headers,
        timeout=120,
        data={"course_id": hub.COURSE_ID, "assignment_id": ASSIGNMENT},
    ).json()
    assert submitted["success"], submitted

    # The second student: no listing of the inbound, no way into the first's server or home,
    # and a hand-in filed under the first's name (with a later time) is refused at collect.
    inbound = Path(settings.exchange_root) / hub.COURSE_ID / "inbound"
    assert klass.run_as(second, "ls", str(inbound)).returncode != 0
    assert klass.run_as(second, "ls", pwd.getpwnam(first).pw_dir).returncode != 0
    other = requests.get(
        f"{klass.base}/user/{first}/api/contents/{path}",
        timeout=60,
        headers={"Authorization": f"token {klass.token(second)}"},
        allow_redirects=False,
    )
    assert other.status_code in (302, 403, 404), other.status_code
    as_second = {"JUPYTERHUB_API_TOKEN": klass.token(second)}
    fetched = klass.run_as(second, "nbgrader", "fetch_assignment", ASSIGNMENT, env=as_second)
    assert fetched.returncode == 0, fetched.stderr
    forged = klass.run_as(second, "nbgrader", "submit", ASSIGNMENT, "--student", first, env=as_second)
    assert forged.returncode != 0 and "404" in forged.stderr, forged.stderr  # the hub will not say who first is
    # Written straight into the inbound (Unix permissions let anyone write there), dated in the future:
    fake = inbound / f"{first}+{ASSIGNMENT}+2099-01-01 00:00:00.000000 UTC"
    home = pwd.getpwnam(second).pw_dir
    copied = klass.run_as(second, "cp", "-r", f"{home}/{hub.COURSE_ID}/{ASSIGNMENT}", str(fake))
    assert copied.returncode == 0, copied.stderr
    collected = klass.run_as(klass.instructor, "nbgrader", "collect", ASSIGNMENT, cwd=course)
    assert collected.returncode == 0, collected.stderr
    assert f"handed in by {second}" in collected.stderr
    assert (Path(course) / "submitted" / first / ASSIGNMENT).is_dir()

    graded = klass.run_as(
        klass.instructor,
        "course",
        "grade",
        ASSIGNMENT,
        "--student",
        first,
        "--workers",
        "1",
        cwd=course,
        env={"COURSE_FAST": "1"},
    )
    assert graded.returncode == 0, graded.stdout + graded.stderr
    score = float(_grades(klass)[first]["score"])
    assert 0 < score < 100, graded.stdout  # exactly the answered function's points: checked by the grader's tests
    assert "FLAGGED" not in graded.stdout, graded.stdout  # the forged hand-in never reached submitted/
    released = klass.run_as(klass.instructor, "nbgrader", "release_feedback", ASSIGNMENT, cwd=course)
    assert released.returncode == 0, released.stderr

    # The student fetches the feedback and reads the score in their browser.
    answer = requests.post(
        url + "assignments/fetch_feedback",
        headers=headers,
        timeout=120,
        data={"course_id": hub.COURSE_ID, "assignment_id": ASSIGNMENT},
    ).json()
    assert answer["success"], answer
    # Lab's list: the student's hand-ins of one assignment grouped, each with the feedback fetched for it.
    handed = next(a for a in answer["value"] if a["assignment_id"] == ASSIGNMENT and a["status"] == "submitted")
    with_feedback = [s for s in handed["submissions"] if s["has_local_feedback"]]
    assert len(with_feedback) == 1, handed  # the one hand-in of the first student, not the forged one
    home = Path(pwd.getpwnam(first).pw_dir)
    relative = (home / with_feedback[0]["local_feedback_path"] / f"{ASSIGNMENT}.html").relative_to(home)
    browser.get(f"{klass.base}/user/{first}/files/{relative}")
    WebDriverWait(browser, 60).until(lambda d: f"{score:g}" in d.find_element(By.TAG_NAME, "body").text)
    _shot(browser, "student_feedback")

    # The server runs as the student, within the limits setup was given (1G, one CPU).
    pid = int(klass.run_as(first, "pgrep", "-u", first, "-f", "jupyterhub-singleuser").stdout.split()[0])
    assert _limits(pid) == {"memory": 2**30, "cpus": 1.0}, Path(f"/proc/{pid}/cgroup").read_text()


def _limits(pid: int) -> dict:
    """The memory (bytes) and CPUs that the cgroups named after the process's user allow it."""
    found = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "/cnn-course-hub-" not in path:
            continue
        for controller in controllers.split(",") if controllers else ["v2"]:
            folder = Path("/sys/fs/cgroup", "" if controller == "v2" else controller, path.lstrip("/"))
            if controller == "v2":
                found["memory"] = int((folder / "memory.max").read_text())
                quota, period = (folder / "cpu.max").read_text().split()
                found["cpus"] = int(quota) / int(period)
            elif controller == "memory":
                found["memory"] = int((folder / "memory.limit_in_bytes").read_text())
            elif controller == "cpu":
                found["cpus"] = int((folder / "cpu.cfs_quota_us").read_text()) / int(
                    (folder / "cpu.cfs_period_us").read_text()
                )
    return found


def _peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) * 1024


LOAD_SCRIPT = r"""
import json, os, signal, sys
from nbgrader.apps.nbgraderapp import NbGraderApp
students, course_env, deadline = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
children = {}
for user, (uid, gid, home, token) in students.items():
    pid = os.fork()
    if pid == 0:  # one process per student, as that Unix user: fetch, then submit
        signal.alarm(deadline)  # bounded: a student that hangs ends itself (and counts as failed)
        os.setgroups([]); os.setgid(gid); os.setuid(uid); os.chdir(home)
        os.environ.update(course_env, HOME=home, USER=user, JUPYTERHUB_USER=user, JUPYTERHUB_API_TOKEN=token)
        for step in ("fetch_assignment", "submit"):
            child = os.fork()
            if child == 0:
                signal.alarm(deadline)
                code = 1
                try:
                    NbGraderApp.launch_instance(argv=[step, "cnn_step_by_step"])
                    code = 0
                except SystemExit as exc:  # nbgrader's apps end with sys.exit
                    code = 0 if exc.code in (None, 0) else 1
                finally:
                    os._exit(code)
            _, status = os.waitpid(child, 0)
            if status:
                os._exit(2)
        os._exit(0)
    children[pid] = user
failed = [children[pid] for pid in children if os.waitpid(pid, 0)[1]]
print(json.dumps(failed))
"""


def test_thirty_students_at_once(klass):
    """30 students added with `roster add` fetch and submit at once, each as its Unix user through nbgrader's
    hub integration; one collect takes each hand-in exactly once. `course grade --workers 2` then grades every
    fifth of them (6 notebooks: grading all 30 untouched notebooks takes minutes on 2 cores, and grading is
    the grader's tests' subject, not the hub's). Prints the times and the hub's peak memory. Then `roster drop`
    takes one of them off the hub and locks the account, keeping the files."""
    settings = klass.settings
    if not (Path(settings.exchange_root) / hub.COURSE_ID / "outbound" / ASSIGNMENT).is_dir():  # run alone
        released = klass.run_as(klass.instructor, "nbgrader", "release_assignment", ASSIGNMENT, cwd=settings.course_dir)
        assert released.returncode == 0, released.stderr
    load = [f"{klass.instructor[:-1]}l{k:02d}" for k in range(LOAD_STUDENTS)]
    started = time.monotonic()
    for user in load:
        hub.roster_add(Path(settings.hub_dir), hub.Member(user, user, "student"))
    added = time.monotonic() - started
    hub_pid = int((Path(settings.hub_dir) / "hub.pid").read_text())
    students = {
        u: (pwd.getpwnam(u).pw_uid, pwd.getpwnam(u).pw_gid, pwd.getpwnam(u).pw_dir, klass.token(u)) for u in load
    }
    environment = hub.server_environment(settings, load[0])  # the script sets each student's own names
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, json.dumps(students), json.dumps(environment), "240"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    handed_in = time.monotonic() - started
    assert proc.returncode == 0 and json.loads(proc.stdout.splitlines()[-1]) == [], proc.stdout + proc.stderr[-3000:]
    started = time.monotonic()
    collected = klass.run_as(klass.instructor, "nbgrader", "collect", ASSIGNMENT, cwd=settings.course_dir)
    collect_time = time.monotonic() - started
    assert collected.returncode == 0, collected.stderr
    for user in load:
        assert collected.stderr.count(f"Collecting submission: {user} ") == 1, user
        assert (Path(settings.course_dir) / "submitted" / user / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    graded_students = load[::5]
    started = time.monotonic()
    graded = klass.run_as(
        klass.instructor,
        "course",
        "grade",
        ASSIGNMENT,
        "--workers",
        "2",
        *(a for u in graded_students for a in ("--student", u)),
        cwd=settings.course_dir,
        env={"COURSE_FAST": "1"},
    )
    grade_time = time.monotonic() - started
    assert graded.returncode == 0, graded.stdout + graded.stderr
    grades = _grades(klass)
    assert {u: float(grades[u]["score"]) for u in graded_students} == dict.fromkeys(graded_students, 0.0)
    print(
        f"\n{LOAD_STUDENTS} students: roster add {added:.1f} s; fetch + submit at once {handed_in:.1f} s; "
        f"collect {collect_time:.1f} s; course grade of {len(graded_students)} (2 workers) {grade_time:.1f} s; "
        f"hub's peak memory {_peak_rss(hub_pid) / 2**20:.0f} MiB"
    )

    dropped = load[-1]
    hub.roster_drop(Path(settings.hub_dir), dropped)
    assert dropped not in (Path(settings.hub_dir) / "roster.csv").read_text()
    with pytest.raises(hub.HubError, match="404"):
        hub.api(settings, "GET", f"users/{dropped}")
    assert subprocess.run(["passwd", "--status", dropped], capture_output=True, text=True).stdout.split()[1] == "L"
    assert Path(pwd.getpwnam(dropped).pw_dir, hub.COURSE_ID, ASSIGNMENT).is_dir()  # their files are kept


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_course_folder_hands_out_the_class_edition(tmp_path, lang):
    """`course hub setup --lang` sets the course folder's edition (language and release folder) in its copy of
    nbgrader_config.py; setting it again replaces the lines instead of adding a second set."""
    config = tmp_path / "nbgrader_config.py"
    shutil.copy2(ROOT / "nbgrader_config.py", config)
    hub.set_edition(config, "en" if lang == "zh" else "zh")
    hub.set_edition(config, lang)
    settings = Settings.load(tmp_path)
    assert (settings.language, Path(settings.folders["release"]).name) == (lang, i18n.edition_folder(lang))
    assert config.read_text().count(hub.EDITION_MARK) == 1
