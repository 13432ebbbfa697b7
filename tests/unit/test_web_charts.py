"""The server-side SVG bar chart and the scorecard's period: heights follow the shares, every
text is escaped, a month with nothing to count draws no bar."""

from __future__ import annotations

import re
from datetime import date
from xml.etree import ElementTree

from gateway.web.charts import HEIGHT, Bar, percent_bars
from gateway.web.supplier_pages import Period, choose_period

SVG = "{http://www.w3.org/2000/svg}"


def test_bars_are_as_tall_as_their_share_and_texts_are_escaped() -> None:
    svg = str(percent_bars("<script>x</script>", [
        Bar("Oct 2026", 1.0, "100%"), Bar("<b>Nov</b>", 0.5, "50%"), Bar("Dec 2026", None, "")]))
    tree = ElementTree.fromstring(svg)  # well-formed XML, so nothing was left unescaped
    assert tree.findtext(f"{SVG}title") == "<script>x</script>"
    assert "<script>" not in svg
    assert "&lt;b&gt;Nov&lt;/b&gt;" in svg
    heights = [float(rect.get("height", "0")) for rect in tree.iter(f"{SVG}rect")]
    assert len(heights) == 2  # no bar for the month with nothing to count
    assert heights[0] == 2 * heights[1]
    assert heights[0] < HEIGHT
    assert re.search(r">Dec 2026</text>", svg)


def test_the_period_defaults_to_the_last_90_days_and_refuses_nonsense() -> None:
    today = date(2026, 11, 26)
    assert choose_period(None, None, today) == Period(date(2026, 8, 29), today)
    assert choose_period("2026-11-01", "2026-11-30", today) == Period(
        date(2026, 11, 1), date(2026, 11, 30))
    assert choose_period(None, "2026-03-31", today) == Period(date(2026, 1, 1),
                                                              date(2026, 3, 31))
    assert choose_period("2026-12-01", "2026-11-01", today) is None
    assert choose_period("yesterday", None, today) is None
    assert choose_period("2020-01-01", "2026-01-01", today) is None
