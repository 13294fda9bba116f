"""An error as one line for the log or an operator's message: its type and the first line of
what it says (the driver's own words for a database error SQLAlchemy wraps), never a traceback."""

from __future__ import annotations


def said(err: BaseException, limit: int = 300) -> str:
    text = str(getattr(err, "orig", None) or err) or type(err).__name__
    return f"{type(err).__name__}: {text}".splitlines()[0][:limit]
