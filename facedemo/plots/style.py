"""What every figure shares: the names and colours of the two kinds of pair, the
threshold's dashed line, the chance line, the explorer's figure height, and percentages
rounded as the browser's tables round them."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import plotly.graph_objects as go

SAME_PERSON = "same person"
DIFFERENT_PERSON = "different person"
SAME_PERSON_COLOUR = "#009E73"
DIFFERENT_PERSON_COLOUR = "#D55E00"
THRESHOLD_COLOUR = "#333333"
CURVE_COLOUR = "#0072B2"
CHANCE_COLOUR = "#999999"

#: Height of the explorer's side-by-side figures, so a row lines up.
FIGURE_HEIGHT = 400


def percent(share: float, decimals: int = 2) -> str:
    """A share as a percentage rounded half up, as the browser's tables round it (Python's
    own format rounds 0.90625 to 90.62 %, the table's percent format to 90.63 %)."""
    if not np.isfinite(share):
        return "–"
    scaled = Decimal(repr(float(share))) * 100
    return f"{scaled.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)}%"


def _chance_line(name: str) -> dict[str, Any]:
    return {
        "mode": "lines",
        "name": name,
        "line": {"color": CHANCE_COLOUR, "dash": "dot"},
        "hoverinfo": "skip",
    }


def _threshold_line(figure: go.Figure, threshold: float, note: str | None = None) -> None:
    """The threshold as a dashed line, labelled with its value (and ``note``, if any)."""
    figure.add_vline(
        x=threshold,
        line={"color": THRESHOLD_COLOUR, "dash": "dash", "width": 2},
        annotation_text=f"threshold {threshold:.4f}" + (f" · {note}" if note else ""),
        annotation_position="top right",
    )
