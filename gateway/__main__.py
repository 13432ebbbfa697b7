"""`gateway` and `python -m gateway`: the command line.

Importing the command line costs about what importing click costs; each command's own modules
load when it runs (`gateway.cli.commands`), under the same guard. Ctrl-C while loading, or at any
other moment, ends the command with one line and the shell's status for an interrupt
(128 + SIGINT = 130), never a traceback.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

INTERRUPTED = 130
_MESSAGE = b"gateway: interrupted\n"


def _interrupted_while_loading(_signum: int, _frame: FrameType | None) -> None:
    # Nothing has happened yet, so the process just ends. A KeyboardInterrupt raised here
    # could land in an import's weak-reference callback, where Python prints it as ignored
    # and carries on: the Ctrl-C would be lost.
    os.write(2, _MESSAGE)
    os._exit(INTERRUPTED)


def main() -> None:
    signal.signal(signal.SIGINT, _interrupted_while_loading)
    from gateway.cli import main as run_command_line

    # From here a command either takes SIGINT over (`gateway run`) or gets Python's
    # KeyboardInterrupt, so that its transaction rolls back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run_command_line()
    except KeyboardInterrupt:
        sys.stderr.write(_MESSAGE.decode())
        raise SystemExit(INTERRUPTED) from None


if __name__ == "__main__":
    main()
