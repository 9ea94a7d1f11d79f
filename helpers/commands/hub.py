"""``course hub``: a class on one server (JupyterHub, accounts from a roster)."""

from __future__ import annotations

import sys
from pathlib import Path

from helpers.instructor import hub
from helpers.paths import course_command


def run(args, root: Path) -> int:
    hub_dir = Path(args.hub_dir)
    try:
        if args.hub_command == "setup":
            settings, passwords = hub.setup(
                Path(args.roster),
                hub_dir,
                course_dir=args.course_dir,
                exchange_root=Path(args.exchange),
                ip=args.ip,
                port=args.port,
                lang=args.lang,
                mem=args.mem,
                cpu=args.cpu,
                auth=args.auth,
            )
            print(
                f"class server set up in {settings.hub_dir}: course folder {settings.course_dir}, "
                f"exchange {settings.exchange_root}"
            )
            if passwords:
                print(
                    f"{len(passwords)} account(s) made; their first passwords: "
                    f"{settings.hub_dir}/passwords.csv (root only)"
                )
            print(f"start it with: {course_command()} hub start")
        elif args.hub_command == "start":
            print(f"JupyterHub runs at {hub.start(hub_dir)} (log: {hub_dir / 'hub.log'})")
        elif args.hub_command == "stop":
            print("stopped" if hub.stop(hub_dir) else "the hub was not running")
        elif args.roster_command == "add":
            password = hub.roster_add(hub_dir, hub.Member(args.id, args.name or args.id, args.group))
            print(f"{args.id} added" + (f"; first password: {password}" if password else ""))
        else:
            hub.roster_drop(hub_dir, args.id)
            print(f"{args.id} dropped: off the roster and the hub, account locked, files kept")
    except hub.HubError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
