"""The report as PDF: the HTML page laid out by WeasyPrint, with a CJK font from the system.

Why WeasyPrint: it is a PyPI package that lays out the same HTML and CSS the HTML report uses (one
layout for two formats), supports paged media (A4, page numbers, no heading at a page's foot),
shapes Chinese text through Pango and embeds subsets of the fonts, and runs in a second per report
without a browser or an office suite. It needs Pango (``libpango-1.0-0``, present on most Linux
desktops) and a Chinese font: Debian's ``fonts-noto-cjk`` (``apt-get install fonts-noto-cjk``), or
any font fontconfig knows for Chinese.

Reproducible: the PDF's dates are the report's date (from ``dcterms.created``/``modified``), it has
no random identifier, and ``SOURCE_DATE_EPOCH`` is set to that date while the fonts are subset
(fontTools would stamp the subset fonts with the current time).
"""

from __future__ import annotations

import calendar
import contextlib
import os
import shutil
import subprocess

from helpers.report import to_html
from helpers.report.model import Report

INSTALL_HINT = (
    "install Pango and a Chinese font, e.g. `apt-get install libpango-1.0-0 libpangoft2-1.0-0 "
    "fonts-noto-cjk` (Debian/Ubuntu)"
)


class PDFUnavailable(RuntimeError):
    """The PDF cannot be made on this machine; the message says what to install."""


def chinese_fonts() -> list[str]:
    """Font families fontconfig knows for Chinese ([] when none, or when fc-list is missing)."""
    if not shutil.which("fc-list"):
        return []
    proc = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
    return sorted({line.split(",")[0].strip() for line in proc.stdout.splitlines() if line.strip()})


def available() -> str | None:
    """None when PDFs can be made, else why not."""
    try:
        import weasyprint  # noqa: F401  (loads Pango through cffi)
    except (ImportError, OSError) as exc:
        return f"WeasyPrint cannot start ({str(exc).splitlines()[0]}): {INSTALL_HINT}"
    if not chinese_fonts():
        return f"no Chinese font is installed, so Chinese text would not show: {INSTALL_HINT}"
    return None


@contextlib.contextmanager
def _source_date_epoch(seconds: int):
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(seconds)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved


def render(report: Report) -> bytes:
    problem = available()
    if problem:
        raise PDFUnavailable(problem)
    import weasyprint

    page = to_html.render(report, svg_math=True)
    epoch = calendar.timegm(report.date.timetuple())
    with _source_date_epoch(epoch):
        return weasyprint.HTML(string=page, base_url=None).write_pdf()
