"""TensorFlow starts without its start-up log lines in notebook outputs and terminals.

When TensorFlow loads, its C++ libraries write to file descriptor 2, before any Python setting can
reach them: "All log messages before absl::InitializeLog() ...", the oneDNN and CPU-feature notices,
"Could not find cuda drivers", and on the first operation "E0000 ... failed call to cuInit".
``TF_CPP_MIN_LOG_LEVEL`` silences only some of them, and a Jupyter kernel shows descriptor 2 in
the cell's output.

``install()`` (called when ``helpers`` is imported, which every notebook and the grader do before
TensorFlow) sets ``TF_CPP_MIN_LOG_LEVEL=2`` unless it is set, and adds an import hook: the first
``import tensorflow`` (directly or through ``keras``) runs with descriptor 2 captured, probes the
devices while still captured, and then writes back every captured line that is not one of those
notices. Nothing else changes: oneDNN stays on, real errors still show.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile

# The start-up notices, and only them.
NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} [\d:.]+\s+\d+ \S+\] .*"  # absl INFO/WARNING lines during start-up
    r"|E\d{4} [\d:.]+\s+\d+ \S+\] .*(cuInit|CUDA|cuda|GPU).*"  # the failed GPU probe on a CPU machine
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\."
    r"|\s*)$"
)


def is_noise(line: str) -> bool:
    return bool(NOISE.match(line.rstrip("\n")))


@contextlib.contextmanager
def filtered_stderr():
    """While inside, descriptor 2 goes to a file; on leaving, its lines but the notices go to stderr."""
    try:
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - a closed or odd stderr: nothing to keep in order
        pass
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [
                line for line in capture.read().decode(errors="replace").splitlines(keepends=True) if not is_noise(line)
            ]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):  # everything else (resources, get_filename, ...) as the real loader
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        uninstall()  # once: later imports are TensorFlow's own business
        with filtered_stderr():
            self._loader.exec_module(module)
            try:
                module.config.list_physical_devices()  # the GPU probe logs too: let it happen in here
            except Exception:  # noqa: BLE001 - a TensorFlow without the probe: nothing to silence
                pass


class _TensorFlowFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _QuietLoader(spec.loader)
        return spec


_FINDER = _TensorFlowFinder()


def install() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" not in sys.modules and _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall() -> None:
    while _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
