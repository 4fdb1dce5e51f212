"""The national summary page: every trust's headline level on one self-contained HTML page.

Built for about 150 NHS acute trusts at once: counts of trusts by level, the trusts whose level
changed since yesterday's issue, and a small-multiple strip per trust drawn as inline SVG by
string building (no matplotlib per trust), so the whole page takes well under a second.
"""

from __future__ import annotations

from forecasting.national.page import national_page, write_national_page

__all__ = ["national_page", "write_national_page"]
