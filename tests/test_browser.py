"""JupyterLab in a real browser (headless Chromium through selenium), as a student and an instructor use it.

On a copy of the course after `course setup`, with Lab started as `.venv/bin/jupyter lab` is (this
Python's bin folder not on PATH): a student's release notebook and an instructor's source notebook are
run cell by cell in Lab, their test cells' outputs read from the page; the source notebook is saved
by Lab and `course release` still reproduces the committed release; Formgrader lists the three
assignments with their points on its first visit; a Lab terminal runs `course` and `nbgrader` by name;
feedback goes from Formgrader's Generate and Release Feedback to the student's Fetch Feedback in Lab's
Assignment List and is read in Lab's HTML viewer; the browser console shows no error.

Skipped unless chromium, chromedriver and selenium are installed (`.ci/run` installs them);
`pytest -m "not browser"` skips it on purpose. Set COURSE_BROWSER_SCREENSHOTS=DIR to keep screenshots.
"""

from __future__ import annotations

import contextlib
import getpass
import html
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, declared_variant, hidden_test_lines, make_course_copy
from helpers.instructor import demo

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.exhaustive]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
try:
    import selenium  # noqa: F401
except ImportError:
    selenium = None
if not (CHROMIUM and CHROMEDRIVER and selenium):
    pytest.skip("needs chromium, chromedriver and selenium (see .ci/run)", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

TF_NOISE = re.compile(
    r"E0000|cuInit|oneDNN|absl::InitializeLog|cpu_feature_guard|rebuild TensorFlow|"
    r"cuda drivers|TF_ENABLE_ONEDNN_OPTS"
)
SHOTS = os.environ.get("COURSE_BROWSER_SCREENSHOTS")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _shot(driver, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SHOTS) / f"{name}.png"))


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = make_course_copy(tmp_path_factory.mktemp("browser") / "course")
    (root / "notebooks").mkdir()
    shutil.copy2(ROOT / "notebooks" / "nbgrader_config.py", root / "notebooks")
    from helpers import signs

    signs.load_dataset(verbose=False)  # the data exist before a kernel needs them
    subprocess.run([sys.executable, "-m", "helpers.cli", "--root", str(root), "setup"], check=True, capture_output=True)
    return root


@pytest.fixture(scope="module")
def user_env(tmp_path_factory) -> dict[str, str]:
    """The environment of the one user of this machine, instructor and student: Lab runs in it, and so do the
    commands they type (nbgrader's exchange keeps a student's submissions in $JUPYTER_DATA_DIR, where the
    Assignment List looks for them). This Python's bin folder is not on PATH, as with `.venv/bin/jupyter lab`."""
    home = tmp_path_factory.mktemp("home")
    bin_dir = Path(sys.executable).parent.resolve()
    path = (
        os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p).resolve() != bin_dir)
        or "/usr/bin:/bin"
    )
    env = dict(
        os.environ,
        PATH=path,
        HOME=str(home),
        COURSE_FAST="1",
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
    )
    env.pop("NBGRADER_EXECUTION", None)
    return env


@pytest.fixture(scope="module")
def lab(course, user_env):
    """A JupyterLab server on 127.0.0.1, a random port and a token; yields its base URL, token and log."""
    with serve_lab(course, user_env) as served:
        yield served


@contextlib.contextmanager
def serve_lab(course: Path, user_env: dict[str, str], *lab_args: str):
    """JupyterLab serving ``course`` on 127.0.0.1, a random port and a token: its base URL, token and log."""
    home, env = Path(user_env["HOME"]), user_env
    port, token = _free_port(), secrets.token_hex(16)
    log = (home / "lab.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={course}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=",
            "--allow-root",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            *lab_args,
        ],
        cwd=course,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start:\n{(home / 'lab.log').read_text()}") from None
                time.sleep(0.5)
        yield base, token, home / "lab.log"
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--disable-gpu",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


# Lab's application object (exposed by --LabApp.expose_app_in_browser) answers about the open notebook.
# Outputs are read from the notebook model Lab renders: Lab 4 draws only the cells in view.
_NOTEBOOK_STATE = """
const app = window.jupyterapp;
const panel = app && app.shell.currentWidget;
if (!panel || !panel.content || !panel.sessionContext) { return null; }
const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
const text = o => {
  if (o.output_type === 'stream') { return [].concat(o.text).join(''); }
  if (o.output_type === 'error') { return [].concat(o.traceback || []).join('\\n') + '\\n' + o.ename + ': ' + o.evalue; }
  const data = o.data || {};
  return [].concat(data['text/plain'] || []).join('');
};
const cells = panel.content.widgets.map(cell => {
  const meta = cell.model.getMetadata('nbgrader') || {};
  const outputs = cell.model.type === 'code' ? cell.model.outputs.toJSON() : [];
  return {type: cell.model.type, grade_id: meta.grade_id || null, test: !!meta.grade && !meta.solution,
          count: cell.model.type === 'code' ? cell.model.executionCount : null,
          text: outputs.map(text).join('\\n'), error: outputs.some(o => o.output_type === 'error')};
});
return {kernel: kernel ? kernel.status : null, dirty: panel.context.model.dirty, cells: cells};
"""


def _wait(driver, what, timeout: float, poll: float = 1.0):
    return WebDriverWait(driver, timeout, poll_frequency=poll).until(lambda d: what(d))


def open_notebook(driver, base: str, token: str, path: str):
    """Open `path` alone in a workspace of its own: Lab would otherwise restore the notebooks of the last
    visit beside it, and its Run commands act on whichever notebook Lab's tracker saw last."""
    workspace = f"w{secrets.token_hex(4)}"
    driver.get(f"{base}/lab/workspaces/{workspace}/tree/{path}?reset&token={token}")
    _wait(driver, lambda d: (d.execute_script(_NOTEBOOK_STATE) or {}).get("kernel") == "idle", 120)
    return driver.execute_script(_NOTEBOOK_STATE)


def run_all(driver, timeout: float) -> dict:
    """Run > Run All Cells, then wait until the kernel is idle for good (Lab stops at the first error)."""
    driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells');")
    time.sleep(2)
    return run_all_wait(driver, timeout)


def run_all_wait(driver, timeout: float) -> dict:
    """Wait until every code cell of the notebook in view has run, or one has failed, and the kernel is calm."""
    calm = []

    def finished(d):
        state = d.execute_script(_NOTEBOOK_STATE)
        code = [c for c in state["cells"] if c["type"] == "code"]
        done = all(c["count"] is not None for c in code) or any(c["error"] for c in code)
        calm.append(state["kernel"] == "idle" and done)
        return state if calm[-3:] == [True] * 3 else False

    try:
        return _wait(driver, finished, timeout)
    except Exception as exc:
        state = driver.execute_script(_NOTEBOOK_STATE)
        raise AssertionError(
            f"Run All did not finish in the notebook in view within {timeout} s: kernel "
            f"{state['kernel']}, execution counts "
            f"{[c['count'] for c in state['cells'] if c['type'] == 'code']}"
        ) from exc


def run_to_the_end(driver, timeout: float) -> dict:
    """Run every code cell in turn, going on after errors, as a student who runs each cell does."""
    state = driver.execute_script(_NOTEBOOK_STATE)
    code = [k for k, c in enumerate(state["cells"]) if c["type"] == "code"]
    for k in code:
        driver.execute_script(
            f"const panel = window.jupyterapp.shell.currentWidget;"
            f"panel.content.activeCellIndex = {k};"
            "window.jupyterapp.commands.execute('notebook:run-cell');"
        )
        _wait(
            driver,
            lambda d, k=k: (lambda st: st["kernel"] == "idle" and st["cells"][k]["count"] is not None)(
                d.execute_script(_NOTEBOOK_STATE)
            ),
            timeout,
            poll=0.3,
        )
    return driver.execute_script(_NOTEBOOK_STATE)


def save(driver) -> None:
    driver.execute_script("window.jupyterapp.commands.execute('docmanager:save');")
    _wait(driver, lambda d: not d.execute_script(_NOTEBOOK_STATE)["dirty"], 30)


def noisy_outputs(state) -> list[str]:
    return [c["text"][:300] for c in state["cells"] if TF_NOISE.search(c["text"])]


def console_errors(driver) -> list[str]:
    """Errors the page logged; Chromium's own notice that it blocked Lab's "leave this page?" prompt is not one."""
    return [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and "beforeunload' confirmation panel" not in e["message"]
    ]


def test_student_runs_a_release_notebook(course, lab, browser):
    """The student's copy: TensorFlow starts silently; every test cell of an unwritten function fails."""
    base, token, _ = lab
    state = open_notebook(browser, base, token, "notebooks/cnn_application.ipynb")
    assert not state["dirty"], "the notebook is marked modified as soon as it opens"
    state = run_to_the_end(browser, 300)
    _shot(browser, "release_cnn_application")
    setup = state["cells"][1]
    assert setup["grade_id"] == "setup" and setup["text"] == "", setup["text"][:500]  # TensorFlow loaded here
    tests = [c for c in state["cells"] if c["test"]]
    assert tests and all(c["count"] is not None for c in tests), [
        (k, c["grade_id"], c["count"]) for k, c in enumerate(state["cells"]) if c["type"] == "code"
    ]
    failing = [c["grade_id"] for c in tests if not c["error"] or "All tests passed." in c["text"]]
    assert failing == [], failing
    assert noisy_outputs(state) == []
    # `course setup` turned off Lab's news feed: no prompt about it covers the notebook
    assert "Jupyter news" not in browser.find_element("tag name", "body").text
    save(browser)  # as the student would; leaving a modified notebook makes Chromium log a blocked prompt
    assert console_errors(browser) == []


def test_instructor_runs_saves_and_releases_a_source_notebook(course, lab, browser):
    """Every test cell of the source prints "All tests passed."; Lab's save changes nothing that is released."""
    base, token, _ = lab
    path = course / "source" / "cnn_step_by_step" / "cnn_step_by_step.ipynb"
    state = open_notebook(browser, base, token, "source/cnn_step_by_step/cnn_step_by_step.ipynb")
    assert not state["dirty"], "the notebook is marked modified as soon as it opens"
    state = run_all(browser, 300)
    _shot(browser, "source_cnn_step_by_step")
    tests = [c for c in state["cells"] if c["test"]]
    assert tests and all("All tests passed." in c["text"] and not c["error"] for c in tests), [
        (c["grade_id"], c["text"][-300:]) for c in tests if "All tests passed." not in c["text"]
    ]
    assert not any(c["error"] for c in state["cells"])
    assert noisy_outputs(state) == []

    save(browser)
    saved = json.loads(path.read_text())
    assert any(c.get("outputs") for c in saved["cells"]), "Lab saved no outputs: nothing was tested"
    subprocess.run(
        [sys.executable, "-m", "helpers.cli", "--root", str(course), "release", "cnn_step_by_step"],
        check=True,
        capture_output=True,
    )
    released = course / "release" / "cnn_step_by_step" / "cnn_step_by_step.ipynb"
    assert released.read_bytes() == (ROOT / "release" / "cnn_step_by_step" / "cnn_step_by_step.ipynb").read_bytes()
    assert path.read_bytes() == (ROOT / "source" / "cnn_step_by_step" / "cnn_step_by_step.ipynb").read_bytes()
    assert console_errors(browser) == []


def table_rows(driver):
    """The table's rows as text, read in one step (the page redraws its table while it loads)."""
    rows = driver.execute_script("return Array.from(document.querySelectorAll('tbody tr'), r => r.innerText);")
    rows = [r for r in rows if r.strip() and "Loading" not in r]
    return rows or False


def test_formgrader_lists_the_assignments_with_their_points(course, lab, browser):
    base, token, log = lab
    browser.get(f"{base}/formgrader/gradebook?token={token}")
    rows = _wait(browser, table_rows, 60)
    _shot(browser, "formgrader_manual_grading")
    names = {"cnn_step_by_step", "cnn_application", "residual_networks"}
    listed = {r.split()[0]: r for r in rows}
    assert set(listed) == names, rows
    for name in names:
        assert re.search(r"\b100(\.0+)?\b", listed[name]), f"{name}: no 100 points in {listed[name]!r}"
    browser.get(f"{base}/formgrader/manage_assignments?token={token}")
    rows = _wait(browser, table_rows, 60)
    _shot(browser, "formgrader_manage_assignments")
    assert {r.split()[0] for r in rows} >= names, rows
    assert not re.search(r"not recognized|is not absolute|alembic", log.read_text()), log.read_text()[-3000:]
    assert console_errors(browser) == []


# Lab's terminal: the connection's messages are collected from the start, then a command is typed.
_OPEN_TERMINAL = """
const done = arguments[arguments.length - 1];
window.jupyterapp.commands.execute('terminal:create-new').then(widget => {
  const session = widget.content.session;
  window.courseTerminal = {session: session, text: ''};
  session.messageReceived.connect((_, msg) => {
    if (msg.type === 'stdout') { window.courseTerminal.text += [].concat(msg.content).join(''); }
  });
  done(widget.id);
}, error => done('error: ' + error));
"""


def test_a_lab_terminal_runs_the_course_command(course, lab, browser):
    """File > New > Terminal, then `course --help` and `nbgrader --version`, typed as a student types them."""
    base, token, _ = lab
    browser.get(f"{base}/lab/workspaces/w{secrets.token_hex(4)}?reset&token={token}")
    _wait(
        browser,
        lambda d: d.execute_script(
            "return !!(window.jupyterapp && window.jupyterapp.commands.hasCommand('terminal:create-new'))"
        ),
        60,
    )
    opened = browser.execute_async_script(_OPEN_TERMINAL)
    assert not opened.startswith("error"), opened
    time.sleep(2)  # the shell's start-up files
    browser.execute_script(
        "window.courseTerminal.session.send({type: 'stdin', content: ['course --help; nbgrader --version\\r']});"
    )
    deadline = time.monotonic() + 60
    while True:
        text = browser.execute_script("return window.courseTerminal.text")
        if "usage: course" in text and re.search(r"nbgrader version 0\.9\.\d", text):
            break
        if time.monotonic() > deadline:
            _shot(browser, "lab_terminal_course_help")
            raise AssertionError(f"no help and version within 60 s; the terminal showed:\n{text[-2000:]}")
        time.sleep(0.5)
    _shot(browser, "lab_terminal_course_help")
    assert "command not found" not in text, text[-2000:]
    assert "release" in text and "grade" in text, text[-2000:]  # the subcommands the help lists
    assert console_errors(browser) == []


# Formgrader's feedback loop, clicked in the same `lab` server after `course grade` of a submission collected
# through the exchange: Generate Feedback, Release Feedback, the student's Fetch Feedback and the fetched page.


FEEDBACK_ASSIGNMENT = "cnn_step_by_step"
FEEDBACK_MISTAKE = "conv_single_step_no_bias"  # the student forgets the bias: one cell fails, its mistake named


def _command(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout}{proc.stderr}"
    return proc.stdout + proc.stderr


def _hand_in_through_the_exchange(course: Path, env: dict[str, str]) -> tuple[str, float]:
    """Release, fetch, submit and collect with nbgrader's commands (as tests/test_exchange.py does), a notebook
    with one function wrong, then `course grade`; returns the student and the score the catalogue declares."""
    nbgrader = [sys.executable, "-m", "nbgrader"]
    student_dir = course / "notebooks"
    _command([*nbgrader, "release_assignment", FEEDBACK_ASSIGNMENT], course, env)
    _command([*nbgrader, "fetch_assignment", FEEDBACK_ASSIGNMENT], student_dir, env)
    nbformat.write(
        demo.filled_notebook(ROOT, FEEDBACK_ASSIGNMENT, [FEEDBACK_MISTAKE]),
        student_dir / FEEDBACK_ASSIGNMENT / f"{FEEDBACK_ASSIGNMENT}.ipynb",
    )
    _command([*nbgrader, "submit", FEEDBACK_ASSIGNMENT], student_dir, env)
    _command([*nbgrader, "collect", FEEDBACK_ASSIGNMENT], course, env)
    student = getpass.getuser()
    assert (course / "submitted" / student / FEEDBACK_ASSIGNMENT / f"{FEEDBACK_ASSIGNMENT}.ipynb").is_file()
    _command(
        [sys.executable, "-m", "helpers.cli", "--root", str(course), "grade", FEEDBACK_ASSIGNMENT, "--workers", "1"],
        course,
        env,
    )
    return student, demo.expected_score(ROOT, FEEDBACK_ASSIGNMENT, [FEEDBACK_MISTAKE])


_SUBMISSION_ROW = "//tr[td[contains(@class, 'student-id') and normalize-space(text())='{}']]"


def _click_and_read_the_modal(driver, row_xpath: str, button: str, timeout: float) -> str:
    """Click the row's button (a Formgrader icon link), wait for the dialog the page opens when the server
    answers, and return its text; the dialog stays open (for a screenshot) until :func:`_close_modal`."""
    driver.find_element(By.XPATH, f"{row_xpath}//td[contains(@class, '{button}')]/a").click()
    modal = _wait(
        driver,
        lambda d: next(
            (m for m in d.find_elements(By.CSS_SELECTOR, "#success-modal, #error-modal") if m.is_displayed()), False
        ),
        timeout,
        poll=0.3,
    )
    time.sleep(0.5)  # Bootstrap's fade-in, for the screenshot
    return modal.get_attribute("id") + ": " + modal.text


def _close_modal(driver) -> None:
    driver.find_element(By.CSS_SELECTOR, ".modal.in .modal-footer button").click()
    _wait(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, ".modal"), 10, poll=0.2)


def _submission_row_text(driver, row_xpath: str):
    rows = driver.find_elements(By.XPATH, row_xpath)
    text = rows[0].text if rows else ""
    return text if "Please wait" not in text and "/" in text else False


def _open_from_the_file_browser(driver, name: str, timeout: float):
    """Double-click ``name`` in Lab's file browser until Lab's HTML viewer shows it; returns the viewer's iframe.
    The listing is redrawn while the browser moves to the folder: an item found may be gone at the click."""

    def opened(d):
        frames = d.find_elements(By.CSS_SELECTOR, ".jp-HTMLViewer iframe")
        if frames:
            return frames[0]
        items = [e for e in d.find_elements(By.CSS_SELECTOR, ".jp-DirListing-item") if e.text.strip().startswith(name)]
        if items:
            ActionChains(d).double_click(items[0]).perform()
        return False

    return WebDriverWait(
        driver, timeout, poll_frequency=1.5, ignored_exceptions=(StaleElementReferenceException,)
    ).until(opened)


def test_feedback_goes_from_formgrader_to_the_student_in_lab(course, lab, browser, user_env):
    """Generate and Release Feedback clicked in Formgrader, Fetch Feedback in Lab's Assignment List, the page read
    in Lab's HTML viewer.

    A submission with one function wrong reaches `submitted/` through nbgrader's exchange and `course grade`
    grades it (commands, as in tests/test_exchange.py). In Formgrader (Manage Assignments, then the
    assignment's submissions) the instructor clicks the student's Generate Feedback and Release Feedback and
    reads each dialog; the student opens nbgrader's Assignment List in the same Lab (reachable here: the
    server extension and Lab extension are installed), clicks Fetch Feedback, then "(view feedback)", and
    opens the page from Lab's file browser: it shows the score and no line of a hidden test, and has no script.
    """
    base, token, _ = lab
    student, score = _hand_in_through_the_exchange(course, user_env)
    shown = f"{score:g} / 100"
    hidden = hidden_test_lines(course, FEEDBACK_ASSIGNMENT)
    assert len(hidden) > 10
    graded_page = (course / "feedback" / student / FEEDBACK_ASSIGNMENT / f"{FEEDBACK_ASSIGNMENT}.html").read_text()

    # Formgrader: Manage Assignments, the assignment's number of submissions, the student's row.
    browser.get(f"{base}/formgrader/manage_assignments?token={token}")
    _wait(browser, table_rows, 60)
    _wait(
        browser,
        lambda d: d.find_elements(
            By.CSS_SELECTOR, f"td.num-submissions a[href$='/manage_submissions/{FEEDBACK_ASSIGNMENT}']"
        ),
        30,
    )[0].click()
    row = _SUBMISSION_ROW.format(student)
    before = _wait(browser, lambda d: _submission_row_text(d, row), 60)
    _shot(browser, "formgrader_submissions_before_feedback")
    assert "graded" in before and shown in before and "needs" not in before, before

    dialog = _click_and_read_the_modal(browser, row, "generate-feedback", 120)
    _shot(browser, "formgrader_generate_feedback_dialog")
    assert dialog.startswith("success-modal") and "Successfully generated feedback" in dialog, dialog
    _close_modal(browser)
    after = _wait(browser, lambda d: _submission_row_text(d, row), 30)
    _shot(browser, "formgrader_submissions_after_generate_feedback")
    assert "graded" in after and shown in after, after
    # The button wrote the course's page again, the one `course grade` wrote.
    assert (
        course / "feedback" / student / FEEDBACK_ASSIGNMENT / f"{FEEDBACK_ASSIGNMENT}.html"
    ).read_text() == graded_page

    dialog = _click_and_read_the_modal(browser, row, "release-feedback", 60)
    _shot(browser, "formgrader_release_feedback_dialog")
    assert dialog.startswith("success-modal") and "Successfully released feedback" in dialog, dialog
    _close_modal(browser)
    released = list((course / "exchange" / "cnn-course" / "feedback").glob("*.html"))
    assert [p.read_text() for p in released] == [graded_page], released

    # The student: Lab's Assignment List, Fetch Feedback, then "(view feedback)" and the page in Lab.
    browser.get(f"{base}/lab/workspaces/w{secrets.token_hex(4)}?reset&token={token}")
    _wait(
        browser,
        lambda d: d.execute_script(
            "return !!(window.jupyterapp && window.jupyterapp.commands.hasCommand('nbgrader:open-assignment-list'))"
        ),
        60,
    )
    browser.execute_script("window.jupyterapp.commands.execute('nbgrader:open-assignment-list');")
    _wait(browser, lambda d: "feedback available to fetch" in d.find_element(By.TAG_NAME, "body").text, 60)
    _shot(browser, "lab_assignment_list_feedback_released")
    browser.find_element(By.XPATH, "//button[normalize-space(text())='Fetch Feedback']").click()
    _wait(browser, lambda d: d.find_elements(By.XPATH, "//a[normalize-space(text())='(view feedback)']"), 60)[0].click()
    [fetched] = (course / "notebooks" / FEEDBACK_ASSIGNMENT / "feedback").glob(f"*/{FEEDBACK_ASSIGNMENT}.html")
    assert fetched.read_text() == graded_page
    frame = _open_from_the_file_browser(browser, f"{FEEDBACK_ASSIGNMENT}.html", 60)
    browser.switch_to.frame(frame)
    try:
        text = _wait(
            browser,
            lambda d: (lambda t: t if shown in t else False)(
                d.execute_script("return document.body ? document.body.innerText : ''")
            ),
            30,
            poll=0.3,
        )
        scripts = browser.execute_script("return document.getElementsByTagName('script').length")
    finally:
        browser.switch_to.default_content()
    _shot(browser, "lab_fetched_feedback")
    assert f"{FEEDBACK_ASSIGNMENT}: {shown}" in text, text[:500]
    assert all(cell in text for cell in declared_variant(FEEDBACK_ASSIGNMENT, FEEDBACK_MISTAKE)["fails"])
    for seen in (text, html.unescape(fetched.read_text())):  # what the student reads, and all the file holds
        assert not [line for line in hidden if line in seen], [line for line in hidden if line in seen][:3]
    assert scripts == 0 and "<script" not in fetched.read_text().lower()
    assert console_errors(browser) == []


def test_the_chinese_edition_in_lab(browser, user_env, tmp_path):
    """After `course setup --lang zh` in a course copy, Lab's menus are Chinese (文件) and the Chinese
    cnn_step_by_step in notebooks/ runs to the end: its checks speak Chinese ("还没有写", the kernel
    told by the notebook Lab opened it for) and every test cell of an unwritten function fails.

    `course setup` sets Lab's language in this environment's defaults (overrides.json under its prefix),
    which every `course setup` of a concurrent test rewrites: this test puts the file back as it was, and
    its Lab reads the defaults `course setup --lang zh` writes from a folder of its own."""
    from helpers.instructor.release import lab_language, lab_settings_file, quiet_lab_notices

    assignment = "cnn_step_by_step"
    root = make_course_copy(tmp_path / "course", [assignment])
    shutil.copytree(ROOT / "release_zh" / assignment, root / "release_zh" / assignment)
    overrides = lab_settings_file()
    kept = overrides.read_bytes() if overrides.exists() else None
    try:
        setup = subprocess.run(
            [sys.executable, "-m", "helpers.cli", "--root", str(root), "setup", "--lang", "zh"],
            capture_output=True,
            text=True,
            env=user_env,
            timeout=600,
        )
    finally:
        if kept is None:
            overrides.unlink(missing_ok=True)
        else:
            overrides.write_bytes(kept)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert "JupyterLab's language: zh_CN" in setup.stdout, setup.stdout
    assert (root / "notebooks" / f"{assignment}.ipynb").read_bytes() == (
        ROOT / "release_zh" / assignment / f"{assignment}.ipynb"
    ).read_bytes()
    own_prefix = tmp_path / "prefix"
    assert "zh_CN" in lab_language("zh", own_prefix)  # what setup wrote, where no other test writes
    quiet_lab_notices(own_prefix)
    with serve_lab(root, user_env, f"--LabApp.app_settings_dir={lab_settings_file(own_prefix).parent}") as (
        base,
        token,
        _log,
    ):
        state = open_notebook(browser, base, token, f"notebooks/{assignment}.ipynb")
        _wait(
            browser, lambda d: "文件" in [e.text for e in d.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-itemLabel")], 60
        )
        _shot(browser, "zh_lab_cnn_step_by_step_top")
        state = run_to_the_end(browser, 300)
        _shot(browser, "zh_lab_cnn_step_by_step_end")
        menus = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-itemLabel")]
        assert {"文件", "编辑", "运行"} <= set(menus), menus
        assert "Jupyter 新闻" not in browser.find_element(By.TAG_NAME, "body").text  # setup's news-feed default
        tests = [c for c in state["cells"] if c["test"]]
        assert tests and all(c["count"] is not None and c["error"] for c in tests), [
            (c["grade_id"], c["count"], c["error"]) for c in tests
        ]
        unwritten = [c["grade_id"] for c in tests if "还没有写" in c["text"]]
        assert len(unwritten) == len(tests), [(c["grade_id"], c["text"][-300:]) for c in tests]
        save(browser)
        assert console_errors(browser) == []
