"""Markdown for check runs built from untrusted text: cleaned, escaped, fenced and cut to size.

Test names, outputs and logs come out of a container that runs the student's code, so nothing
here lets them add Markdown or HTML of their own: inline text is backslash-escaped (every ASCII
punctuation character, which CommonMark always allows), text inside raw HTML is entity-escaped,
and blocks go into code fences longer than any run of backticks inside them.

GitHub caps `summary` and `text` at 65,535 characters, counted as Unicode code points (what Python's
`len` counts; `plain` has replaced lone surrogates). Sizes here are characters: counting UTF-8
bytes instead would leave up to a fifth of the room unused for non-ASCII output.
"""

from __future__ import annotations

import html
import re

MAX_FIELD_CHARS = 65_535
DASHBOARD = "the full output is in the dashboard"

# Room kept for the closing fences and the note that says what was cut.
_NOTE_CHARS = 160
_FENCE_CHARS = 2 * 33 + 4
_MIN_KEPT_CHARS = 64

_ANSI = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]              # CSI: colours, cursor movement
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?   # OSC: window titles, hyperlinks
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?        # DCS, SOS, PM and APC strings
    | \x1b[ -/]*[0-~]                      # every other escape sequence
    | \x9b[0-?]*[ -/]*[@-~]                # CSI in its 8-bit form
    """,
    re.VERBOSE,
)
# Control characters (tab and newline excepted), lone surrogates, which cannot be encoded, and
# the bidirectional overrides that make text read differently from what it is ("Trojan source").
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_WHITESPACE = re.compile(r"\s+")
_BACKTICKS = re.compile(r"`+")
# Longer runs are split by an invisible space, so a fence never has to be longer than 33.
_LONG_BACKTICKS = re.compile(r"`{32}(?=`)")


def plain(text: str) -> str:
    """Terminal output as plain text: no escape sequences, no control characters, \\n lines."""
    text = _ANSI.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _UNWANTED.sub(lambda m: "" if m.group() < "\ud800" else "\ufffd", text)


def one_line(text: str, max_chars: int) -> str:
    """`text` cleaned, on one line, at most `max_chars` characters (an ellipsis marks a cut)."""
    text = _WHITESPACE.sub(" ", plain(text)).strip()
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"


def inline(text: str, max_chars: int = 300) -> str:
    """Untrusted text as literal Markdown inline text, safe inside a table cell."""
    return _PUNCTUATION.sub(r"\\\1", one_line(text, max_chars))


def code(text: str, max_chars: int = 300) -> str:
    """Untrusted text as an inline code span, shown exactly as it is (backslashes are not
    escapes inside a span): fenced by more backticks than any run inside it, and padded with a
    space where it starts or ends with one (CommonMark's rule)."""
    text = one_line(text, max_chars)
    if not text:
        return "` `"
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def html_text(text: str, max_chars: int = 300) -> str:
    """Untrusted text as literal text inside raw HTML (a `<summary>`), on one line."""
    return html.escape(one_line(text, max_chars), quote=True)


def cut_note(count: int, what: str = "characters", where: str = DASHBOARD) -> str:
    return f"_… cut: {count} more {what}; {where}._"


def fenced(content: str) -> str:
    """`content` in a code fence that nothing inside it can close."""
    content = _break_backticks(content)
    longest = max((len(run) for run in _BACKTICKS.findall(content)), default=0)
    fence = "`" * max(3, longest + 1)
    if content and not content.endswith("\n"):
        content += "\n"
    return f"{fence}\n{content}{fence}"


def code_block(text: str, max_chars: int, *, head_and_tail: bool = False) -> str | None:
    """Untrusted output as a fenced block of at most `max_chars`, or None if none would fit.

    When the output is too long it is cut (its beginning kept, or its beginning and end), the
    fence is closed all the same, and a note after the block says how much is missing.
    """
    content = _break_backticks(plain(text))
    block = fenced(content)
    if len(block) <= max_chars:
        return block
    room = max_chars - _FENCE_CHARS - _NOTE_CHARS
    if room < _MIN_KEPT_CHARS:
        return None
    if head_and_tail:
        marker = "\n… [cut here] …\n"
        half = (room - len(marker)) // 2
        head, tail = _head(content, half), _tail(content, half)
        kept_chars = len(head) + len(tail)
        kept = head + marker + tail
    else:
        kept = _head(content, room)
        kept_chars = len(kept)
    return fenced(kept) + "\n\n" + cut_note(len(content) - kept_chars)


def details(summary_html: str, body: str) -> str:
    """A collapsed section; `summary_html` must already be escaped (see `html_text`)."""
    return f"<details><summary>{summary_html}</summary>\n\n{body}\n\n</details>"


def table(header: list[str], rows: list[list[str]], max_chars: int) -> tuple[str, int]:
    """A table of already-escaped cells within `max_chars`; also returns how many rows were left
    out. Rows are whole or absent: a cut never falls inside one."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    used = sum(len(line) + 1 for line in lines)
    for count, row in enumerate(rows):
        line = "| " + " | ".join(cell.replace("\n", " ") or " " for cell in row) + " |"
        used += len(line) + 1
        if used > max_chars:
            return "\n".join(lines), len(rows) - count
        lines.append(line)
    return "\n".join(lines), 0


class Budget:
    """One Markdown field, assembled from whole blocks within GitHub's limit.

    `add` refuses a block that would leave no room for a closing note; `note` may use that room.
    """

    def __init__(self, limit: int = MAX_FIELD_CHARS) -> None:
        self.limit = limit
        self.blocks: list[str] = []
        self.used = 0

    def room(self) -> int:
        """How many characters the next block may take."""
        return self.limit - self.used - _NOTE_CHARS - 2

    def add(self, block: str) -> bool:
        size = len(block) + (2 if self.blocks else 0)
        if size > self.room():
            return False
        self.blocks.append(block)
        self.used += size
        return True

    def note(self, text: str) -> None:
        """A short closing note (what was cut); it uses the room that `add` keeps free."""
        size = len(text) + 2
        if self.used + size <= self.limit:
            self.blocks.append(text)
            self.used += size

    def __str__(self) -> str:
        return "\n\n".join(self.blocks)


def _break_backticks(text: str) -> str:
    return _LONG_BACKTICKS.sub("`" * 32 + "\u200b", text)


def _head(text: str, max_chars: int) -> str:
    head = text[: max(0, max_chars)]
    newline = head.rfind("\n")
    # End on a whole line when one ends near the cut.
    return head[: newline + 1] if newline > len(head) * 3 // 4 else head


def _tail(text: str, max_chars: int) -> str:
    tail = text[max(0, len(text) - max_chars) :]
    newline = tail.find("\n")
    return tail[newline + 1 :] if 0 <= newline < len(tail) // 4 else tail
