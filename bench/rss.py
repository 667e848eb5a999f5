"""Run a command as the child of this small process and report that child's own peak RSS.

Linux folds the resident memory of the process that forks into the new child's
``ru_maxrss`` when the child execs (vfork too), so a command started straight from
the benchmark process, which holds fixtures and fakes, would report at least the
benchmark's size. Started from this helper instead, the floor is the helper's own
few MB, which it reports alongside.

Usage: ``python -m bench.rss RESULT.json COMMAND [ARGS...]``. SIGTERM and SIGINT
are passed on to the command; the result file gets ``{"maxrss_kib", "floor_kib", "code"}``
and the helper exits with the command's code. Standard library only, to stay small.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any


def _rss_kib() -> int:
    """This process's resident set now (VmRSS), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main(argv: list[str]) -> int:
    """Run ``argv[1:]``, wait for it with wait4, write the figures to ``argv[0]``."""
    result, command = Path(argv[0]), argv[1:]
    floor = _rss_kib()
    proc = subprocess.Popen(command)

    def forward(signum: int, _frame: Any) -> None:
        proc.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    result.write_text(json.dumps({"maxrss_kib": usage.ru_maxrss, "floor_kib": floor, "code": code}))
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
