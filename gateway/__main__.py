"""`gateway` and `python -m gateway`: the command line.

Importing the command line takes a moment (the readers and the database layer). Ctrl-C in
that moment, or at any other, ends the command with one line and the shell's status for an
interrupt (128 + SIGINT = 130), never a traceback.
"""

from __future__ import annotations

import sys

INTERRUPTED = 130


def main() -> None:
    try:
        from gateway.cli import main as run_command_line

        run_command_line()
    except KeyboardInterrupt:
        sys.stderr.write("gateway: interrupted\n")
        raise SystemExit(INTERRUPTED) from None


if __name__ == "__main__":
    main()
