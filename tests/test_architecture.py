"""The dependency rule of docs/architecture.md ("Layers and the import rule"), checked by
import-linter, and no import-time side effects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout
    assert "0 broken" in result.stdout


def test_importing_the_packages_has_no_side_effects(tmp_path: Path) -> None:
    code = (
        "import logging, os\n"
        "import gateway.cli, gateway.services.processing, mappings.registry, parsers.edifact\n"
        "import outbound\n"
        "assert not logging.getLogger().handlers, 'logging configured at import'\n"
        "assert os.listdir('.') == [], os.listdir('.')\n"
    )
    env = {"PATH": "", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, env=env)
