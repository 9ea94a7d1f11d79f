"""The software and hardware a notebook runs on, detected (never typed by the student).

The kernels that run the notebooks use this same Python (the one ``course`` is installed in), so
the versions are read from its installed distributions, without importing TensorFlow (seconds).
Nothing that names the person or the machine (host name, user, paths) is included.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

LIBRARIES = (("numpy", "numpy"), ("TensorFlow", "tensorflow"), ("Keras", "keras"), ("matplotlib", "matplotlib"))


@dataclass(frozen=True)
class Environment:
    python: str
    libraries: tuple[tuple[str, str], ...]  # (display name, version or "")
    operating_system: str
    cpu: str
    cores: int
    memory_gb: float | None
    gpus: tuple[str, ...]

    def software(self) -> list[tuple[str, str]]:
        return [("Python", self.python), *self.libraries]


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return ""


def operating_system() -> str:
    system = platform.system()
    if system == "Linux":
        try:
            name = platform.freedesktop_os_release().get("PRETTY_NAME", "Linux")
        except OSError:
            name = "Linux"
        return f"{name} (Linux {platform.release()})"
    if system == "Darwin":
        return f"macOS {platform.mac_ver()[0]}"
    if system == "Windows":
        return f"Windows {platform.release()} ({platform.version()})"
    return platform.platform(terse=True)


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The processor's name: /proc/cpuinfo on Linux, sysctl on macOS, else what platform says."""
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware", "cpu model") and value.strip():
                return " ".join(value.split())
    if platform.system() == "Darwin" and shutil.which("sysctl"):
        proc = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.strip()
    return platform.processor() or platform.machine() or "unknown"


def memory_gb(meminfo: Path = Path("/proc/meminfo")) -> float | None:
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    except (ValueError, OSError, AttributeError):
        return None


def gpus() -> tuple[str, ...]:
    """NVIDIA GPUs by name and memory (through nvidia-smi, or the driver's /proc files); () if none."""
    if shutil.which("nvidia-smi"):
        try:
            proc = subprocess.run(
                ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=20,
            )
        except (OSError, subprocess.TimeoutExpired):
            proc = None
        if proc is not None and proc.returncode == 0:
            found = tuple(
                " ".join(line.replace(",", ", ").split()) for line in proc.stdout.splitlines() if line.strip()
            )
            if found:
                return found
    names = []
    for info in sorted(Path("/proc/driver/nvidia/gpus").glob("*/information")):
        for line in info.read_text(errors="replace").splitlines():
            if line.startswith("Model:"):
                names.append(line.split(":", 1)[1].strip())
    return tuple(names)


def detect() -> Environment:
    return Environment(
        python=f"{platform.python_version()} ({platform.python_implementation()})",
        libraries=tuple((name, _version(dist)) for name, dist in LIBRARIES),
        operating_system=operating_system(),
        cpu=cpu_model(),
        cores=os.cpu_count() or 1,
        memory_gb=memory_gb(),
        gpus=gpus(),
    )
