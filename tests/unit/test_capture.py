"""A container's output, captured within bounds: head and tail kept, stdout lines streamed out."""

from __future__ import annotations

from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

import runner.capture
from runner.capture import MAX_LINE_BYTES, OutputCapture

OMITTED = "bytes of output omitted"


class Lines(list):
    """A line consumer that records what it was given."""

    def __call__(self, line: str) -> None:
        self.append(line)


def capture_with_lines(**sizes: int) -> tuple[OutputCapture, Lines]:
    lines = Lines()
    return OutputCapture(on_stdout_line=lines, **sizes), lines


def lines_of(data: bytes, max_line: int = MAX_LINE_BYTES) -> list[str]:
    """What the line consumer should see for `data` on stdout, close() included."""
    parts = data.split(b"\n")
    if not parts[-1]:
        parts.pop()  # "a\n" is one line, and an empty stream none
    return [part[:max_line].decode("utf-8", "replace").rstrip("\r") for part in parts]


# --- head, tail and what is left out --------------------------------------------------------


def test_short_output_is_kept_whole_and_not_truncated():
    capture = OutputCapture(head_bytes=8, tail_bytes=8)
    capture.feed(b"hello ")
    capture.feed(b"world")
    assert capture.text() == "hello world"
    assert not capture.truncated
    assert capture.total_bytes == 11


def test_no_output_gives_empty_text():
    capture = OutputCapture()
    capture.close()
    assert capture.text() == ""
    assert not capture.truncated
    assert capture.total_bytes == 0


def test_empty_chunks_change_nothing():
    capture, lines = capture_with_lines(head_bytes=4, tail_bytes=4)
    capture.feed(b"")
    capture.feed(b"", stdout=False)
    capture.close()
    assert (capture.total_bytes, capture.text(), lines) == (0, "", [])


def test_long_output_keeps_head_and_tail_and_names_the_omitted_byte_count():
    capture = OutputCapture(head_bytes=10, tail_bytes=10)
    data = b"HEAD-START" + b"x" * 5000 + b"TAIL---END"
    for start in range(0, len(data), 7):
        capture.feed(data[start : start + 7])
    text = capture.text()
    assert capture.truncated
    assert text.startswith("HEAD-START")
    assert text.endswith("TAIL---END")
    assert "[5,000 bytes of output omitted]" in text
    assert "x" * 11 not in text


def test_output_of_exactly_head_plus_tail_bytes_is_not_truncated():
    capture = OutputCapture(head_bytes=4, tail_bytes=4)
    capture.feed(b"abcd")
    capture.feed(b"efgh")
    assert not capture.truncated
    assert capture.text() == "abcdefgh"
    assert not capture.truncated


def test_one_byte_more_than_head_plus_tail_is_truncated_by_exactly_one_byte():
    capture = OutputCapture(head_bytes=4, tail_bytes=4)
    capture.feed(b"abcdefghi")
    assert capture.truncated  # before text() too: the tail is trimmed lazily
    assert capture.text() == "abcd\n\n… [1 bytes of output omitted] …\n\nfghi"
    assert capture.truncated


def test_truncated_is_right_at_every_length_and_chunking_before_text_is_read():
    for chunk in (1, 3, 4, 9, 100):
        for length in range(0, 30):
            capture = OutputCapture(head_bytes=4, tail_bytes=6)
            data = bytes(range(65, 65 + length))
            for start in range(0, length, chunk):
                capture.feed(data[start : start + chunk])
            assert capture.truncated == (length > 10), (chunk, length)


def test_a_chunk_larger_than_the_whole_window_keeps_its_own_head_and_tail():
    capture = OutputCapture(head_bytes=3, tail_bytes=3)
    capture.feed(b"abc" + b"-" * 1_000_000 + b"xyz")
    assert capture.text() == "abc\n\n… [1,000,000 bytes of output omitted] …\n\nxyz"


def test_with_no_tail_only_the_head_is_kept():
    capture = OutputCapture(head_bytes=5, tail_bytes=0)
    capture.feed(b"12345")
    assert not capture.truncated
    capture.feed(b"678")
    assert capture.truncated
    assert capture.text() == "12345\n\n… [3 bytes of output omitted] …\n\n"


def test_text_can_be_read_twice_and_output_may_continue_after():
    capture = OutputCapture(head_bytes=2, tail_bytes=2)
    capture.feed(b"abcdef")
    first = capture.text()
    assert capture.text() == first
    capture.feed(b"gh")
    assert capture.text() == "ab\n\n… [4 bytes of output omitted] …\n\ngh"


def test_stderr_is_kept_in_the_log_in_the_order_it_came():
    capture = OutputCapture()
    capture.feed(b"out 1\n")
    capture.feed(b"err 1\n", stdout=False)
    capture.feed(b"out 2\n")
    assert capture.text() == "out 1\nerr 1\nout 2\n"


# --- lines for the TAP parser ----------------------------------------------------------------


def test_a_line_split_over_three_chunks_is_delivered_once_whole():
    capture, lines = capture_with_lines()
    capture.feed(b"o")
    capture.feed(b"k 1 - ad")
    assert lines == []
    capture.feed(b"ds numbers\nnot")
    assert lines == ["ok 1 - adds numbers"]
    capture.feed(b" ok 2\n")
    assert lines == ["ok 1 - adds numbers", "not ok 2"]


def test_several_lines_in_one_chunk_are_delivered_in_order_empty_ones_included():
    capture, lines = capture_with_lines()
    capture.feed(b"1..2\n\nok 1\nok 2\n")
    assert lines == ["1..2", "", "ok 1", "ok 2"]


def test_crlf_line_endings_are_stripped_even_when_cr_and_lf_arrive_apart():
    capture, lines = capture_with_lines()
    capture.feed(b"ok 1\r\nok 2\r")
    capture.feed(b"\n")
    assert lines == ["ok 1", "ok 2"]


def test_a_lone_carriage_return_inside_a_line_is_kept():
    capture, lines = capture_with_lines()
    capture.feed(b"progress 1\rprogress 2\n")
    assert lines == ["progress 1\rprogress 2"]


def test_a_final_line_without_newline_is_delivered_on_close_and_only_once():
    capture, lines = capture_with_lines()
    capture.feed(b"ok 1\nok 2")
    assert lines == ["ok 1"]
    capture.close()
    assert lines == ["ok 1", "ok 2"]
    capture.close()
    assert lines == ["ok 1", "ok 2"]


def test_close_after_a_trailing_newline_delivers_no_extra_empty_line():
    capture, lines = capture_with_lines()
    capture.feed(b"ok 1\n")
    capture.close()
    assert lines == ["ok 1"]


def test_stderr_is_never_delivered_as_lines():
    capture, lines = capture_with_lines()
    capture.feed(b"not ok 1 - from stderr\n", stdout=False)
    capture.feed(b"ok ")
    capture.feed(b"sneaky\nnot ok 2\n", stdout=False)  # stderr in the middle of a stdout line
    capture.feed(b"1\n")
    capture.feed(b"trailing stderr", stdout=False)
    capture.close()
    assert lines == ["ok 1"]
    assert "not ok 2" in capture.text()


def test_an_overlong_line_is_cut_to_max_line_bytes_and_the_next_line_is_whole():
    capture, lines = capture_with_lines(head_bytes=16, tail_bytes=16)
    capture.feed(b"x" * (MAX_LINE_BYTES + 1000) + b"\nok 1\n")
    assert lines == ["x" * MAX_LINE_BYTES, "ok 1"]


def test_an_overlong_line_fed_in_small_chunks_is_cut_too_and_never_held_whole():
    capture, lines = capture_with_lines(head_bytes=16, tail_bytes=16)
    for _ in range(MAX_LINE_BYTES // 1000 * 3):
        capture.feed(b"y" * 1000)
        assert len(capture._line) <= MAX_LINE_BYTES
    capture.feed(b"\n")
    assert lines == ["y" * MAX_LINE_BYTES]


def test_a_line_of_exactly_max_line_bytes_is_delivered_uncut():
    capture, lines = capture_with_lines(head_bytes=16, tail_bytes=16)
    capture.feed(b"z" * (MAX_LINE_BYTES - 1))
    capture.feed(b"Z\n")
    assert lines == ["z" * (MAX_LINE_BYTES - 1) + "Z"]


def test_an_overlong_final_line_without_newline_is_cut_on_close():
    capture, lines = capture_with_lines(head_bytes=16, tail_bytes=16)
    capture.feed(b"w" * (MAX_LINE_BYTES * 2))
    capture.close()
    assert lines == ["w" * MAX_LINE_BYTES]


def test_without_a_line_consumer_no_line_is_buffered():
    capture = OutputCapture()
    capture.feed(b"a" * (3 * MAX_LINE_BYTES))
    capture.close()
    assert len(capture._line) == 0


# --- text that is not ASCII, or not text ----------------------------------------------------


def test_a_multibyte_character_split_across_chunks_reaches_the_line_consumer_whole():
    capture, lines = capture_with_lines()
    data = "ok 1 - Größe € 😀\n".encode()
    for byte in data:
        capture.feed(bytes([byte]))
    assert lines == ["ok 1 - Größe € 😀"]
    assert capture.text() == "ok 1 - Größe € 😀\n"


def test_a_character_split_between_head_and_tail_survives_when_nothing_is_omitted():
    capture = OutputCapture(head_bytes=4, tail_bytes=4)
    capture.feed("abcé".encode())  # é's two bytes straddle the head's end
    assert capture.text() == "abcé"


def test_a_head_or_tail_cut_mid_character_decodes_with_replacement_not_an_error():
    capture = OutputCapture(head_bytes=4, tail_bytes=4)
    capture.feed("abc€".encode() + b"-" * 100 + "€xyz".encode())
    text = capture.text()
    assert text.startswith("abc\ufffd")
    assert text.endswith("\ufffdxyz")
    assert "[104 bytes of output omitted]" in text


def test_an_overlong_line_cut_mid_character_decodes_with_replacement():
    capture, lines = capture_with_lines(head_bytes=16, tail_bytes=16)
    capture.feed(b"a" * (MAX_LINE_BYTES - 1) + "é\n".encode())
    assert lines == ["a" * (MAX_LINE_BYTES - 1) + "\ufffd"]


def test_bytes_that_are_not_utf8_are_replaced_not_raised():
    capture, lines = capture_with_lines()
    capture.feed(b"\xff\xfe ok \xc3\n\x00\x80")
    capture.close()
    assert lines == ["\ufffd\ufffd ok \ufffd", "\x00\ufffd"]
    assert capture.text() == "\ufffd\ufffd ok \ufffd\n\x00\ufffd"


# --- floods and memory -----------------------------------------------------------------------


def test_flooded_flips_only_once_the_total_passes_flood_bytes():
    capture = OutputCapture(flood_bytes=100)
    capture.feed(b"a" * 60)
    capture.feed(b"b" * 40)
    assert capture.total_bytes == 100
    assert not capture.flooded
    capture.feed(b"c")
    assert capture.flooded


def test_stderr_counts_toward_the_flood():
    capture = OutputCapture(flood_bytes=10)
    capture.feed(b"0123456789", stdout=False)
    assert not capture.flooded
    capture.feed(b"!", stdout=False)
    assert capture.flooded


def test_memory_stays_bounded_while_50_mb_stream_through():
    head, tail = 32 * 1024, 32 * 1024
    capture, lines = capture_with_lines(head_bytes=head, tail_bytes=tail)
    chunk = (b"ok 1 - " + b"." * 1016 + b"\n") * 64  # 64 KiB: 64 lines of 1 KiB
    assert len(chunk) == 64 * 1024
    chunks = 50 * 1024 * 1024 // len(chunk)
    for _ in range(chunks):
        capture.feed(chunk)
        assert len(capture._head) <= head
        assert len(capture._tail) <= 2 * tail
        assert len(capture._head) + len(capture._tail) <= 2 * tail + head
        assert len(capture._line) <= MAX_LINE_BYTES
    capture.close()
    assert capture.total_bytes == 50 * 1024 * 1024
    assert capture.flooded
    assert len(lines) == chunks * 64
    text = capture.text()
    assert len(text.encode()) < head + tail + 200
    assert f"[{50 * 1024 * 1024 - head - tail:,} bytes of output omitted]" in text


def test_memory_stays_bounded_for_50_mb_without_a_single_newline():
    capture, lines = capture_with_lines()
    chunk = b"x" * (64 * 1024)
    for _ in range(800):
        capture.feed(chunk)
        assert len(capture._line) <= MAX_LINE_BYTES
        assert (
            len(capture._head) + len(capture._tail) <= capture.head_bytes + 2 * capture.tail_bytes
        )
    capture.close()
    assert lines == ["x" * MAX_LINE_BYTES]


# --- the properties ------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        b"\n",
        b"\r",
        b"\r\n",
        b"ok 1",
        b"a",
        b"\xc3\xa9",
        "€".encode(),
        "😀".encode(),
        b"\xff",
        b"\x00",
    ]
)
_CHUNK = st.one_of(st.binary(max_size=12), st.lists(_PIECES, max_size=6).map(b"".join))


@settings(max_examples=400, deadline=None)
@given(
    chunks=st.lists(st.tuples(_CHUNK, st.booleans()), max_size=25),
    head=st.integers(0, 40),
    tail=st.integers(0, 40),
    max_line=st.integers(1, 12),
)
def test_any_chunking_keeps_head_and_tail_exactly_and_delivers_split_lines(
    chunks, head, tail, max_line
):
    lines = Lines()
    with mock.patch.object(runner.capture, "MAX_LINE_BYTES", max_line):
        capture = OutputCapture(head_bytes=head, tail_bytes=tail, on_stdout_line=lines)
        for data, stdout in chunks:
            capture.feed(data, stdout=stdout)
        capture.close()

    everything = b"".join(data for data, _ in chunks)
    stdout = b"".join(data for data, is_stdout in chunks if is_stdout)
    assert capture.total_bytes == len(everything)
    assert lines == lines_of(stdout, max_line)
    assert capture.truncated == (len(everything) > head + tail)
    if not capture.truncated:
        assert capture.text() == everything.decode("utf-8", "replace")
    else:
        kept_tail = everything[len(everything) - tail :]
        omitted = len(everything) - head - tail
        assert capture.text() == (
            everything[:head].decode("utf-8", "replace")
            + f"\n\n… [{omitted:,} {OMITTED}] …\n\n"
            + kept_tail.decode("utf-8", "replace")
        )


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(_CHUNK, max_size=30))
def test_any_chunking_with_default_sizes_gives_the_whole_output_and_its_lines(chunks):
    capture, lines = capture_with_lines()
    for data in chunks:
        capture.feed(data)
    capture.close()
    everything = b"".join(chunks)
    assert not capture.truncated
    assert capture.text() == everything.decode("utf-8", "replace")
    assert lines == lines_of(everything)
