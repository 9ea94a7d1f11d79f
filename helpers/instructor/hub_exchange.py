"""nbgrader's collect on the class server: a hand-in counts only for the Unix user who made it.

nbgrader's exchange files a submission under the name the submitting process claims (``JUPYTERHUB_USER``
or ``--student``), and its ``check_owner`` only warns when the folder belongs to someone else. On the
class server every user's server and terminal run as that user's Unix account, so the owner of a
submission folder is who handed it in: this collect skips, with an error in its log, every submission
whose owner is not the student it is filed under, before choosing each student's latest one. A forged
hand-in can then neither replace nor precede the student's own. ``course hub`` names it in the class's
nbgrader configuration (``c.ExchangeFactory.collect``).
"""

from __future__ import annotations

import glob
import os
import pwd

from nbgrader.exchange.default.collect import ExchangeCollect


def owner_of(path: str) -> str:
    try:
        return pwd.getpwuid(os.stat(path).st_uid).pw_name
    except KeyError:
        return "unknown id"


class OwnerCheckedCollect(ExchangeCollect):
    def init_src(self):
        super().init_src()
        student_id = self.coursedir.student_id or "*"
        pattern = os.path.join(self.inbound_path, f"{student_id}+{self.coursedir.assignment_id}+*")
        by_student: dict[str, list[dict]] = {}
        for path in glob.glob(pattern):
            record = self._path_to_record(path)
            owner = owner_of(path)
            if owner != record["username"]:
                self.log.error(
                    "refused: %s is filed under %s but was handed in by %s",
                    record["filename"],
                    record["username"],
                    owner,
                )
                continue
            by_student.setdefault(record["username"], []).append(record)
        self.src_records = []
        for records in by_student.values():
            records = self._sort_by_timestamp(records)
            if self.duedate is not None and self.before_duedate:
                records = [r for r in records if r["timestamp"] <= self.duedate] or records
            self.src_records.append(records[0])
