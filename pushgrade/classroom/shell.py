"""Reading the shell commands Classroom's tests wrote: split at the top level into simple
commands (the raw text kept, to write back unchanged), each read as words to say what it does.
Nothing here runs anything.

A line with a pipe, a redirection, a subshell, `||` or a compound command is read as a whole and
never taken apart: only plain `a && b`, `a; b` and one command a line are.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

KEYWORDS = frozenset((
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
    "function", "select", "{", "}", "[[", "]]", "!",
))  # fmt: skip
# Words that only prefix the command that does the work.
_PREFIXES = frozenset(("time", "exec", "command", "nohup", "env", "xargs", "stdbuf", "nice"))
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SUDO = re.compile(r"^\s*sudo((\s+-[A-Za-z]+)|(\s+-u\s+\S+)|(\s+--\S+))*\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Segment:
    """One simple command of a line, and what joins it to the next ("&&", ";" or "")."""

    text: str
    joiner: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Line:
    """A line of a command text: its segments, or None when it is not taken apart."""

    text: str
    segments: tuple[Segment, ...] | None


def lines(text: str) -> tuple[list[Line], bool]:
    """The text's lines, and whether it may be taken apart at all (False with a here-document or
    a compound command, whose lines belong together)."""
    raw = _top_level_lines(text)
    parsed = [Line(line, _segments(line)) for line in raw if line.strip()]
    whole = "<<" in text or any(
        (words := loose_words(line.text)) and words[0] in KEYWORDS for line in parsed
    )
    return parsed, not whole


def _top_level_lines(text: str) -> list[str]:
    """Split at newlines outside quotes; a backslash-newline continues the line."""
    out, current, quote, i = [], [], "", 0
    while i < len(text):
        char = text[i]
        if char == "\\" and quote != "'" and i + 1 < len(text):
            current.append(" " if text[i + 1] == "\n" else text[i : i + 2])  # a continuation
            i += 2
            continue
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "\n":
            out.append("".join(current))
            current = []
            i += 1
            continue
        current.append(char)
        i += 1
    out.append("".join(current))
    return out


def _segments(line: str) -> tuple[Segment, ...] | None:
    """`a && b; c` as its simple commands; None when the line is more than that."""
    parts, current, quote, i = [], [], "", 0
    while i < len(line):
        char = line[i]
        if char == "\\" and quote != "'" and i + 1 < len(line):
            current.append(line[i : i + 2])
            i += 2
            continue
        if quote:
            if char == quote:
                quote = ""
            elif quote == '"' and (char == "`" or line.startswith("$(", i)):
                return None
            current.append(char)
            i += 1
            continue
        if char in "'\"":
            quote = char
        elif char == "#" and (not current or "".join(current)[-1:].isspace()):
            break  # a comment to the end of the line
        elif line.startswith("&&", i):
            parts.append(("".join(current), "&&"))
            current = []
            i += 2
            continue
        elif char == ";":
            if line.startswith(";;", i):
                return None
            parts.append(("".join(current), ";"))
            current = []
            i += 1
            continue
        elif char in "|&<>()`" or line.startswith("$(", i):
            return None
        current.append(char)
        i += 1
    if quote:
        return None
    parts.append(("".join(current), ""))
    segments = []
    for text, joiner in parts:
        if not text.strip():
            if joiner:  # `&& b`, `a && && b`: not a plain list of commands
                return None
            continue  # what a trailing `;` leaves
        try:
            words = tuple(shlex.split(text))
        except ValueError:
            return None
        if not words or words[0] in KEYWORDS:
            return None
        segments.append(Segment(text.strip(), joiner, words))
    if segments:
        last = segments[-1]
        segments[-1] = Segment(last.text, "", last.words)
    return tuple(segments)


def loose_words(text: str) -> list[str]:
    """Words of any command text, quotes removed where they can be; never fails."""
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        return list(lexer)
    except ValueError:
        return text.split()


def commands(text: str) -> list[list[str]]:
    """Every simple command in `text`, as words, however complex the text: for what a command
    reads or reaches, not for taking it apart. Redirections stay as words ("<", "file")."""
    found: list[list[str]] = []
    for line in _top_level_lines(text):
        current: list[str] = []
        for word in loose_words(line):
            if word in ("&&", "||", "|", ";", "&", "(", ")", ";;", "|&", "{", "}", "`"):
                if current:
                    found.append(current)
                current = []
            elif word.startswith("$(") or word.startswith("`"):
                if current:
                    found.append(current)
                current = [word.lstrip("$(`")] if word.lstrip("$(`") else []
            else:
                current.append(word)
        if current:
            found.append(current)
    return [c for c in (program_words(c) for c in found) if c]


def program_words(words: list[str] | tuple[str, ...]) -> list[str]:
    """The words from the program on: sudo, variable assignments, `time` and keywords dropped."""
    words = list(words)
    while words:
        first = words[0]
        if first in KEYWORDS or first in _PREFIXES or _ASSIGNMENT.match(first):
            words = words[1:]
        elif first == "sudo":
            words = words[1:]
            while words and words[0].startswith("-"):
                takes = words[0] in ("-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U")
                words = words[2:] if takes else words[1:]
        else:
            break
    return words


def uses_sudo(text: str) -> bool:
    return any(word == "sudo" for word in loose_words(text))


def without_sudo(segment_text: str) -> str:
    """A simple command's text with its leading `sudo` (and sudo's options) taken off."""
    return _SUDO.sub("", segment_text, count=1)


def quote(words: list[str] | tuple[str, ...]) -> str:
    return " ".join(shlex.quote(word) for word in words)


def printable(text: str) -> bool:
    """True when the text holds no control character (a Dockerfile line must stay one line)."""
    return not _CONTROL.search(text) and "\n" not in text and "\r" not in text


def one_line(text: str, limit: int = 120) -> str:
    """`text` on one line, shortened: for comments and notes."""
    flat = " ".join(_CONTROL.sub(" ", text.replace("\r", " ").replace("\n", " ; ")).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
