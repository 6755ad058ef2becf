"""Tables as Markdown, for the README and the docs' generated pages."""

from __future__ import annotations

import pandas as pd


def markdown_table(frame: pd.DataFrame, float_format: str = ".4f") -> str:
    """``frame`` as a Markdown table (``DataFrame.to_markdown``): floats with ``float_format``, missing values empty."""
    def cell(value: object) -> object:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return ""
        if isinstance(value, float):
            return format(value, float_format)
        return value.replace("|", "\\|") if isinstance(value, str) else value

    # Values are formatted here, so that tabulate lays them out as given instead of reading numbers into strings.
    return frame.map(cell).to_markdown(index=False, disable_numparse=True)
