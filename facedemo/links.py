"""Choices a page keeps in its URL, so that a lecture can link to a prepared state.

Streamlit binds a widget to a query parameter (``bind="query-params"``): the widget's key
is the parameter's name, a valid value in the URL sets the widget when the page opens, and
a change updates the URL. A value that is not among the widget's options is dropped
without a word; a link is typed, pasted and kept for months, so the page says which part
it could not follow (:func:`not_followed`) instead.
"""

from __future__ import annotations

#: The parameter that opens the app in presenter mode (``?present=true``).
PRESENT = "present"

#: The longest link value quoted back in a note: a hostile link cannot fill the page.
QUOTE_LIMIT = 60


def not_followed(what: str, asked: str | None, shown: object) -> str | None:
    """The sentence for a link that asked for ``asked`` as ``what`` while the page shows
    ``shown`` (it is not among the choices); None when the link asked nothing or was
    followed."""
    if asked is None or asked == str(shown):
        return None
    quoted = asked if len(asked) <= QUOTE_LIMIT else f"{asked[:QUOTE_LIMIT]}…"
    return (
        f"The link asks for the {what} '{quoted}', which is not one of the choices here, "
        f"so this page shows {shown}."
    )


def threshold_from(asked: str | None, low: float, high: float) -> tuple[float | None, str | None]:
    """A threshold a link asks for, when it is a number within the study's range
    ``[low, high]``, or None and the sentence saying why it is not followed (None, None
    when the link asks for none)."""
    if asked is None:
        return None, None
    try:
        value = float(asked)
    except ValueError:
        value = float("nan")
    if low <= value <= high:  # NaN and infinities fail here too
        return value, None
    quoted = asked if len(asked) <= QUOTE_LIMIT else f"{asked[:QUOTE_LIMIT]}…"
    return None, (
        f"The link asks for the threshold '{quoted}', which is not a number from "
        f"{low:.4f} to {high:.4f}, so the page starts at its own."
    )
