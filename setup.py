"""Build hook: with GATEWAY_MYPYC=1, compile the hot path with mypyc.

Everything about the distribution is in pyproject.toml; this file only adds the compiled
extension modules, the way black and mypy ship theirs. Compiled, EDIFACT parse+map and
reconciliation run about twice as fast (`gateway bench parse` prints which build it measured).
Without the variable the same modules run as plain Python: an editable development install stays
plain, so a change to a source file takes effect at once.

    pip install <the runtime dependencies and the `compile` extra of pyproject.toml>
    GATEWAY_MYPYC=1 pip install --no-build-isolation .   # needs a C compiler too

`make bench` does both in `.venv-compiled`.
"""

from __future__ import annotations

import os

from setuptools import setup

# Modules on the per-segment and per-line path (and the SMTP intake's per-line reader of mail
# data). Their types are checked strictly (mypy --strict in
# `make test`); mypyc turns the annotations into runtime checks, so a lie would fail loudly.
COMPILED = [
    "parsers/errors.py",
    "parsers/edifact/charsets.py",
    "parsers/edifact/segments.py",
    "parsers/edifact/tokenizer.py",
    "parsers/edifact/interchange.py",
    "mappings/edifact/codes.py",
    "mappings/edifact/readers.py",
    "mappings/edifact/profiles.py",
    "mappings/edifact/packages.py",
    "mappings/edifact/messages.py",
    "parsers/x12/segments.py",
    "parsers/x12/tokenizer.py",
    "parsers/x12/envelope.py",
    "mappings/x12/codes.py",
    "mappings/x12/readers.py",
    "mappings/x12/orders.py",
    "mappings/x12/shipments.py",
    "mappings/x12/reading.py",
    "parsers/xml/document.py",
    "mappings/xmlvalues.py",
    "mappings/ubl/codes.py",
    "mappings/ubl/reading.py",
    "mappings/cxml/codes.py",
    "mappings/cxml/reading.py",
    "mappings/registry.py",
    "gateway/domain/documents.py",
    "gateway/domain/orders.py",
    "gateway/domain/tolerances.py",
    "gateway/domain/discrepancies.py",
    "gateway/domain/events.py",
    "gateway/domain/reconciliation.py",
    "gateway/persistence/bulk.py",
    "gateway/services/exception_store.py",
    "gateway/services/processing.py",
    "gateway/channels/smtp_data.py",
    "outbound/edifact/envelope.py",
    "outbound/edifact/contrl.py",
    "outbound/edifact/aperak.py",
]


def ext_modules() -> list[object]:
    if os.environ.get("GATEWAY_MYPYC") != "1":
        return []
    from mypyc.build import mypycify

    # The C compiler's optimisation level: 3 (the default) for every build that ships or is
    # measured. A build that only checks the compiled modules behave like the plain ones (the
    # compiled-build test) takes 0: the same mypyc output, compiled in a fraction of the time.
    opt_level = os.environ.get("GATEWAY_MYPYC_OPT", "3")
    if opt_level not in ("0", "1", "2", "3"):
        raise SystemExit(f"GATEWAY_MYPYC_OPT must be 0, 1, 2 or 3, not {opt_level!r}")
    return list(mypycify(COMPILED, opt_level=opt_level))


setup(ext_modules=ext_modules())
