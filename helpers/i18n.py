"""The course's languages: which one a reader gets, and the message catalogue every text goes through.

Two editions come from one source: English (``en``, the source) and Simplified Chinese (``zh``).
The language of a text is, first found:

1. an explicit ``lang`` (a command's ``--lang``, the language of the notebook being checked);
   then the language of the reader being written for, set by :func:`reading` (the grader, for the
   page and messages of a Chinese submission);
2. the environment variable ``COURSE_LANG`` (``en`` or ``zh``);
3. in a kernel Jupyter started for a notebook (``JPY_SESSION_NAME`` names it), that notebook's
   language: ``metadata.course.lang`` (the Chinese edition carries ``"zh"``; no key means English),
   read once for each version of the file (its path and modification time);
4. the locale, as gettext reads it: ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``
   (``zh_CN.UTF-8`` gives Chinese);
5. English.

Messages are gettext catalogues, ``helpers/locale/<locale>/LC_MESSAGES/course.po``, read as they are
(compiled in memory with Babel on first use), so a clean ``pip install -e .`` needs no build step.
A message builder calls :func:`message` with the English text and its fields; numbers, shapes and
code go in as fields and come out unchanged.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import gettext as _gettext
import io
import json
import logging
import os
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "course"
# The course's languages and their gettext locale names.
LOCALES = {"en": "en", "zh": "zh_CN"}
DEFAULT = "en"

log = logging.getLogger(__name__)
# The language of the reader the code is writing for now (None: the usual order decides); see reading().
_READER = contextvars.ContextVar("course_reader_language", default=None)


def edition_folder(lang: str) -> str:
    """The folder of the ``lang`` edition's student notebooks: ``release`` (English), ``release_zh`` (Chinese)."""
    return "release" if lang == DEFAULT else f"release_{lang}"


def folder_edition(folder: str) -> str | None:
    """The edition a release folder holds (the inverse of :func:`edition_folder`); None for any other folder."""
    return next((lang for lang in LOCALES if edition_folder(lang) == Path(folder).name), None)


def normalize_language(value: object) -> str | None:
    """``"zh"``, ``"zh_CN.UTF-8"``, ``"zh-Hans"`` -> ``"zh"``; ``"en_GB"``, ``"C"`` -> ``"en"``; anything else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    code = value.strip().replace("-", "_").split(".")[0].split("@")[0].split("_")[0].lower()
    if code in LOCALES:
        return code
    if code in ("c", "posix"):
        return "en"
    return None


def notebook_language(nb: dict) -> str:
    """The edition of a notebook (a dict or nbformat node): ``metadata.course.lang``, English without it."""
    course = (nb.get("metadata") or {}).get("course") if isinstance(nb, dict) else None
    found = normalize_language(course.get("lang")) if isinstance(course, dict) else None
    return found or DEFAULT


def set_notebook_language(nb: dict, lang: str) -> None:
    """Mark a notebook as the ``lang`` edition (English: no mark, as in the source)."""
    course = nb.setdefault("metadata", {}).setdefault("course", {})
    if lang == DEFAULT:
        course.pop("lang", None)
        if not course:
            del nb["metadata"]["course"]
    else:
        course["lang"] = lang


def _session_notebook_language() -> str | None:
    """The language of the notebook this kernel runs for, when Jupyter says which (``JPY_SESSION_NAME``)."""
    name = os.environ.get("JPY_SESSION_NAME")
    if not name:
        return None
    path = Path(name)
    if not path.is_absolute():
        path = Path(os.environ.get("JPY_SESSION_ROOT", os.getcwd())) / path
    try:
        modified = path.stat().st_mtime_ns
    except OSError:
        return None
    return _notebook_file_language(str(path), modified)


@functools.lru_cache(maxsize=16)
def _notebook_file_language(path: str, modified: int) -> str | None:
    """The language of the notebook file ``path`` as it was at ``modified`` (its mtime): every message asks,
    so the file is read once per version, not once per message."""
    try:
        with open(path, encoding="utf-8") as handle:
            return notebook_language(json.load(handle))
    except (OSError, ValueError, RecursionError):
        return None


@contextlib.contextmanager
def reading(lang: str):
    """Inside, texts without an explicit language are written in ``lang`` (this thread or task only)::

    with reading(notebook_language(nb)):
        page = feedback_page(...)
    """
    token = _READER.set(language(lang))
    try:
        yield
    finally:
        _READER.reset(token)


def language(lang: str | None = None) -> str:
    """The language a text is written in now (see the module's docstring for the order)."""
    if lang is not None:
        found = normalize_language(lang)
        if found is None:
            raise ValueError(f"unknown language {lang!r}: use one of {', '.join(LOCALES)}")
        return found
    if _READER.get() is not None:
        return _READER.get()
    env = os.environ.get("COURSE_LANG")
    if env:
        found = normalize_language(env)
        if found:
            return found
        log.warning("COURSE_LANG=%r is not a course language (%s): English is used", env, ", ".join(LOCALES))
    from_notebook = _session_notebook_language()
    if from_notebook:
        return from_notebook
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if value:  # gettext's order: the first one set decides (LANGUAGE may list several: the first)
            return normalize_language(value.split(":")[0]) or DEFAULT
    return DEFAULT


def command_language(*fallbacks: str | None) -> str:
    """The language of a ``course`` command's output: ``COURSE_LANG`` when set to a course language, else the
    first of ``fallbacks`` that is one (``course check``: the notebook's language; ``course grade``: the
    course's setting, ``c.CourseGrader.language``), else :func:`language`."""
    for value in (os.environ.get("COURSE_LANG"), *fallbacks):
        found = normalize_language(value)
        if found:
            return found
    return language()


def catalogue_file(lang: str) -> Path:
    """The PO file of the package's messages in ``lang``."""
    return LOCALE_DIR / LOCALES[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(lang: str) -> _gettext.NullTranslations:
    """gettext's translations of the package's messages into ``lang`` (English: the messages themselves).

    Untranslated and fuzzy entries fall back to English. A catalogue that cannot be read gives English
    and a warning, never an error: a message is always shown.
    """
    path = catalogue_file(lang) if lang in LOCALES and lang != DEFAULT else None
    if path is None or not path.is_file():
        return _gettext.NullTranslations()
    # Babel is imported here, not at the top: English needs no catalogue, and a student's kernel that
    # never prints a Chinese message never pays for the import.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    try:
        with open(path, "rb") as handle:
            catalog = read_po(handle, locale=LOCALES[lang])
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        buffer.seek(0)
        return _gettext.GNUTranslations(buffer)
    except Exception as exc:  # noqa: BLE001  (a broken catalogue must not take a message away)
        log.warning("cannot read the message catalogue %s (%s): messages stay in English", path, exc)
        return _gettext.NullTranslations()


def gettext(text: str, lang: str | None = None) -> str:
    """``text`` in the reader's language (:func:`language`)."""
    return translations(language(lang)).gettext(text)


_ = gettext


def N_(text: str) -> str:
    """Marks ``text`` as a message of the catalogue without translating it yet (gettext's idiom for a text
    kept in a table and translated where it is shown, in the reader's language then)."""
    return text


def ngettext(singular: str, plural: str, n: int, lang: str | None = None) -> str:
    return translations(language(lang)).ngettext(singular, plural, n)


def message(text: str, lang: str | None = None, **fields) -> str:
    """A message built from its English template: translated first, then filled in with ``fields``.

    The fields (names, numbers, shapes, code) are put in after translation, so they reach the reader
    exactly as given::

        message("{name} is not written yet", name="conv_forward")
    """
    return gettext(text, lang).format(**fields) if fields else gettext(text, lang)
