"""Partner files: TOML and YAML read the same; mistakes are configuration errors that say what."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gateway.errors import ConfigurationError
from gateway.services.orders import read_order_file
from gateway.services.partners import profile_from_mapping, read_partner_file

TOML = """
[profiles.strict]
qty_under_pct = 5
date_late_error_days = 2

[[suppliers]]
code = "ACME"
name = "Acme"
edi_ids = [{ id = "4012345000009", qualifier = "14" }]
profile = "strict"
"""
YAML = """
profiles:
  strict:
    qty_under_pct: 5
    date_late_error_days: 2
suppliers:
  - code: ACME
    name: Acme
    edi_ids: [{id: "4012345000009", qualifier: "14"}]
    profile: strict
"""


def test_toml_and_yaml_say_the_same(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(TOML)
    (tmp_path / "p.yaml").write_text(YAML)
    assert read_partner_file(tmp_path / "p.toml") == read_partner_file(tmp_path / "p.yaml")


def test_profile_values_are_typed() -> None:
    profile = profile_from_mapping("strict", {"qty_under_pct": 5, "date_late_error_days": 2})
    assert profile.qty_under_pct == Decimal(5)
    assert profile.date_late_error_days == 2
    assert profile.label == "strict v1"


@pytest.mark.parametrize(
    ("values", "message"),
    [({"qty_under": 5}, "unknown fields ['qty_under']"),
     ({"price_pct": "lots"}, "price_pct = 'lots' is not a number"),
     ({"date_late_error_days": -1}, "must not be negative")],
)
def test_bad_profiles_say_what_is_wrong(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        profile_from_mapping("strict", values)


def test_unreadable_files_are_configuration_errors(tmp_path: Path) -> None:
    broken = tmp_path / "p.toml"
    broken.write_text("[profiles\n")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        read_partner_file(broken)
    with pytest.raises(ConfigurationError, match="cannot read"):
        read_partner_file(tmp_path / "missing.yaml")


def test_order_exports_in_windows_1252_with_semicolons(tmp_path: Path) -> None:
    export = tmp_path / "orders.csv"
    export.write_bytes("order_number;line_no;quantity;description\n"
                       "PO1;10;5;Schraube M8 \u2013 verzinkt, Gr\u00f6\u00dfe 8\n".encode("cp1252"))
    lines, errors = read_order_file(export)
    assert errors == []
    assert lines[0].description == "Schraube M8 \u2013 verzinkt, Gr\u00f6\u00dfe 8"


@pytest.mark.parametrize(
    ("content", "quantity", "error"),
    [("order_number;line_no;quantity\nPO1;10;1,50\n", Decimal("1.50"), None),
     ("order_number,line_no,quantity\nPO1,10,\"1,50\"\n", None, "'1,50' is not a number"),
     ("order_number;line_no;quantity\nPO1;10;1e3\n", None, "'1e3' is not a number"),
     ("order_number;line_no;quantity\nPO1;10;1_000\n", None, "'1_000' is not a number")],
)
def test_decimal_commas_only_where_the_delimiter_allows_them(
        tmp_path: Path, content: str, quantity: Decimal | None, error: str | None) -> None:
    export = tmp_path / "orders.csv"
    export.write_text(content)
    lines, errors = read_order_file(export)
    assert [line.quantity for line in lines] == ([quantity] if quantity else [])
    assert [e.detail for e in errors] == ([f"quantity {error}"] if error else [])
