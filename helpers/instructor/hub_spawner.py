"""The class server's spawner: JupyterHub's LocalProcessSpawner with limits that hold.

LocalProcessSpawner runs each user's server as that Unix user, but ignores ``mem_limit`` and
``cpu_limit`` (only container and systemd spawners enforce them; SystemdSpawner needs systemd as the
machine's init, which containers and many CI machines lack). This subclass enforces both with a
cgroup per user made by the (root) hub before the server starts: cgroup v2's ``memory.max`` and
``cpu.max``, or v1's ``memory.limit_in_bytes`` and ``cpu.cfs_quota_us``. The server's process joins it
between fork and exec, before it becomes the user, so everything it starts (kernels, terminals)
stays inside. Where the machine offers no writable cgroup the server starts without limits and the
hub's log says so. Instructors' servers start in the course folder, students' in their home.
"""

from __future__ import annotations

import os

from jupyterhub.spawner import LocalProcessSpawner
from jupyterhub.utils import maybe_future
from traitlets import List, Unicode

CGROUP_FS = "/sys/fs/cgroup"
CPU_PERIOD_US = 100_000


def _own_cgroups() -> dict[str, str]:
    """{controller or '<v2>': this process's cgroup path}, from /proc/self/cgroup."""
    own = {}
    with open("/proc/self/cgroup") as handle:
        for line in handle.read().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else ["<v2>"]:
                own[controller] = path
    return own


def cgroup_folders(name: str) -> dict[str, str]:
    """{'v2' | 'memory' | 'cpu': folder} where the server's cgroups go (not made yet)."""
    own = _own_cgroups()
    v2_controllers = os.path.join(CGROUP_FS, "cgroup.controllers")
    if "<v2>" in own and os.path.isfile(v2_controllers) and "memory" in open(v2_controllers).read().split():
        return {"v2": os.path.join(CGROUP_FS + own["<v2>"], name)}
    return {
        controller: os.path.join(CGROUP_FS, controller + own[controller], name)
        for controller in ("memory", "cpu")
        if controller in own and os.path.isdir(os.path.join(CGROUP_FS, controller))
    }


class CourseSpawner(LocalProcessSpawner):
    course_dir = Unicode(help="the instructors' course folder, where their servers start").tag(config=True)
    instructors = List(Unicode(), help="users whose servers start in course_dir").tag(config=True)

    def _limit_files(self) -> dict[str, str]:
        files = {}
        memory = self.mem_limit
        cpu = self.cpu_limit
        for controller, folder in cgroup_folders(f"cnn-course-hub-{self.user.name}").items():
            if memory and controller in ("v2", "memory"):
                name = "memory.max" if controller == "v2" else "memory.limit_in_bytes"
                files[os.path.join(folder, name)] = str(int(memory))
            if cpu and controller == "v2":
                files[os.path.join(folder, "cpu.max")] = f"{int(cpu * CPU_PERIOD_US)} {CPU_PERIOD_US}"
            if cpu and controller == "cpu":
                files[os.path.join(folder, "cpu.cfs_period_us")] = str(CPU_PERIOD_US)
                files[os.path.join(folder, "cpu.cfs_quota_us")] = str(int(cpu * CPU_PERIOD_US))
        return files

    def make_cgroups(self) -> list[str]:
        """Make this user's cgroups with the limits; the folders the server joins ([] where none can be)."""
        folders = []
        try:
            for path, value in self._limit_files().items():
                os.makedirs(os.path.dirname(path), exist_ok=True)
                if os.path.dirname(path) not in folders:
                    folders.append(os.path.dirname(path))
                with open(path, "w") as handle:
                    handle.write(value)
        except OSError as exc:
            self.log.warning(
                "%s's server starts WITHOUT memory/CPU limits: cannot make its cgroup (%s)", self.user.name, exc
            )
            return []
        return folders

    def make_preexec_fn(self, name):
        folders = self.make_cgroups() if (self.mem_limit or self.cpu_limit) else []
        become_user = super().make_preexec_fn(name)
        start_in = self.course_dir if name in self.instructors and self.course_dir else None

        def preexec():
            for folder in folders:
                with open(os.path.join(folder, "cgroup.procs"), "w") as handle:
                    handle.write("0")
            become_user()
            if start_in:
                os.chdir(start_in)

        return preexec

    def get_env(self):
        env = super().get_env()
        if self.user.name in self.instructors and self.course_dir:
            env["JUPYTERHUB_ROOT_DIR"] = self.course_dir
        return env

    async def stop(self, now=False):
        await maybe_future(super().stop(now=now))
        for folder in {os.path.dirname(p) for p in self._limit_files()}:
            try:
                os.rmdir(folder)
            except OSError:
                pass  # still in use (a process left behind) or never made
