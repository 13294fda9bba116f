"""Bounded capture of a container's output: keeps the head and the tail, counts the rest.

A submission can print gigabytes. The capture holds at most `head_bytes + tail_bytes` of it, feeds
complete stdout lines to a line consumer (the TAP parser) as they stream, and reports a flood once
the total passes `flood_bytes` so the sandbox can stop the container early.
"""

from __future__ import annotations

from collections.abc import Callable

# A line longer than this is cut before it reaches the line consumer (a TAP line never is).
MAX_LINE_BYTES = 64 * 1024


class OutputCapture:
    def __init__(
        self,
        *,
        head_bytes: int = 32 * 1024,
        tail_bytes: int = 32 * 1024,
        flood_bytes: int = 16 * 1024 * 1024,
        on_stdout_line: Callable[[str], None] | None = None,
    ) -> None:
        self.head_bytes = head_bytes
        self.tail_bytes = tail_bytes
        self.flood_bytes = flood_bytes
        self._on_stdout_line = on_stdout_line
        self._head = bytearray()
        self._tail = bytearray()
        self._line = bytearray()
        self._line_cut = False
        self.total_bytes = 0

    @property
    def flooded(self) -> bool:
        return self.total_bytes > self.flood_bytes

    @property
    def truncated(self) -> bool:
        # The tail is trimmed lazily and may hold more than is kept: count only what `text` keeps.
        return self.total_bytes > len(self._head) + min(len(self._tail), self.tail_bytes)

    def feed(self, data: bytes, *, stdout: bool = True) -> None:
        if not data:
            return
        self.total_bytes += len(data)
        if stdout and self._on_stdout_line is not None:
            self._split_lines(data)
        room = self.head_bytes - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if data and self.tail_bytes:
            self._tail += data
            # Trim lazily: at most twice the tail is held between trims.
            if len(self._tail) > 2 * self.tail_bytes:
                del self._tail[: len(self._tail) - self.tail_bytes]

    def _split_lines(self, data: bytes | bytearray) -> None:
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                self._append_partial(data[start:])
                return
            self._append_partial(data[start:end])
            self._emit_line()
            start = end + 1

    def _append_partial(self, piece: bytes | bytearray) -> None:
        room = MAX_LINE_BYTES - len(self._line)
        if len(piece) > room:
            self._line_cut = True
            piece = piece[: max(room, 0)]
        self._line += piece

    def _emit_line(self) -> None:
        assert self._on_stdout_line is not None
        line = self._line.decode("utf-8", errors="replace").rstrip("\r")
        self._line.clear()
        self._line_cut = False
        self._on_stdout_line(line)

    def close(self) -> None:
        """Flush a last line that had no newline."""
        if self._on_stdout_line is not None and self._line:
            self._emit_line()

    def text(self) -> str:
        """The kept output: all of it, or its head and tail around a note of what was left out."""
        if len(self._tail) > self.tail_bytes:
            del self._tail[: len(self._tail) - self.tail_bytes]
        if not self.truncated:
            # Decoded as one: a character split between head and tail must survive.
            return (self._head + self._tail).decode("utf-8", errors="replace")
        head = self._head.decode("utf-8", errors="replace")
        omitted = self.total_bytes - len(self._head) - len(self._tail)
        tail = self._tail.decode("utf-8", errors="replace")
        return f"{head}\n\n… [{omitted:,} bytes of output omitted] …\n\n{tail}"
