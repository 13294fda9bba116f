"""`.github/pushgrade.yml`: untrusted YAML in, an `AssignmentConfig` or a located `ConfigError`."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ghapp.config import (
    MAX_CONFIG_BYTES,
    AssignmentConfig,
    ConfigError,
    Runtime,
    VisibilityLevel,
    load_config,
)
from runner.spec import MiB, SandboxLimits, SandboxSpec

EXAMPLE = Path(__file__).parents[2] / "examples" / "python-pytest" / "pushgrade.yml"
GiB = 1024 * MiB

FULL = """\
# The calc assignment.
image: ghcr.io/course/calc-grader:2024.1
timeout: 90
limits:
  memory: 1g
  cpus: 2.5
  pids: 512
network: true
runtime: runsc
run_as_root: true
visibility: score
"""


def config_error(text: str | bytes, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(text, **kwargs)
    return caught.value


# --- what a valid file gives ------------------------------------------------------------------


def test_a_full_short_form_file_sets_every_field():
    config = load_config(FULL)
    assert config.image == "ghcr.io/course/calc-grader:2024.1"
    assert config.timeout == 90
    assert (config.limits.memory, config.limits.cpus, config.limits.pids) == (GiB, 2.5, 512)
    assert config.network is True
    assert config.runtime is Runtime.RUNSC
    assert config.run_as_root is True
    assert config.visibility is VisibilityLevel.SCORE


def test_a_full_file_becomes_the_sandbox_spec_it_describes():
    spec = load_config(FULL).sandbox_spec()
    assert spec == SandboxSpec(
        image="ghcr.io/course/calc-grader:2024.1",
        limits=SandboxLimits(timeout_s=90, memory_bytes=GiB, cpus=2.5, pids=512, network=True),
        runtime="runsc",
        as_root=True,
        pull_missing=True,
    )
    assert load_config(FULL).sandbox_spec(pull_missing=False).pull_missing is False


def test_only_the_image_is_required_and_everything_else_has_the_sandbox_defaults():
    config = load_config("image: grader:1\n")
    assert config.timeout == SandboxLimits.timeout_s
    assert config.limits.memory == SandboxLimits.memory_bytes == 512 * MiB
    assert config.limits.cpus == SandboxLimits.cpus
    assert config.limits.pids == SandboxLimits.pids
    assert config.network is False
    assert config.runtime is Runtime.RUNC
    assert config.run_as_root is False
    assert config.visibility is VisibilityLevel.FULL
    assert config.sandbox_spec() == SandboxSpec(image="grader:1")


def test_runc_is_the_engines_default_runtime_so_the_spec_names_none():
    assert load_config("image: g\nruntime: runc\n").sandbox_spec().runtime is None


def test_the_bundled_example_config_loads():
    config = load_config(EXAMPLE.read_bytes(), file=str(EXAMPLE))
    assert config.image == "pushgrade-example/python-pytest:1"
    assert config.limits.memory == 256 * MiB
    assert config.visibility is VisibilityLevel.TESTS


@pytest.mark.parametrize(
    ("written", "size"),
    [
        ("512m", 512 * MiB),
        ("512M", 512 * MiB),
        ("1g", GiB),
        ("1.5G", GiB + GiB // 2),
        ("64MiB", 64 * MiB),
        ("2 gb", 2 * GiB),
        ("100k", 100 * 1024),
        ("65536", 65536),
        (65536, 65536),
    ],
)
def test_memory_sizes_are_read_docker_style(written, size):
    value = f"'{written}'" if isinstance(written, str) else str(written)
    assert load_config(f"image: g\nlimits:\n  memory: {value}\n").limits.memory == size


def test_an_unquoted_size_reads_the_same_as_a_quoted_one():
    assert load_config("image: g\nlimits: {memory: 1.5G}\n").limits.memory == GiB + GiB // 2


@pytest.mark.parametrize("word", ["true", "yes", "on", "True", '"true"'])
def test_yaml_and_pydantic_truthy_words_turn_network_on(word):
    assert load_config(f"image: g\nnetwork: {word}\n").network is True


def test_a_number_written_as_a_string_is_accepted_for_the_timeout():
    assert load_config("image: g\ntimeout: '30'\n").timeout == 30


def test_bytes_and_text_are_read_alike_and_a_utf8_bom_is_ignored():
    assert load_config(b"\xef\xbb\xbfimage: g\n").image == "g"
    assert load_config("\ufeffimage: g\n").image == "g"


def test_a_merge_key_is_followed():
    config = load_config("image: g\nlimits:\n  <<: {memory: 1g}\n  pids: 64\n")
    assert (config.limits.memory, config.limits.pids) == (GiB, 64)


def test_duplicate_keys_keep_the_last_value():
    assert load_config("image: first\nimage: second\n").image == "second"


def test_a_bad_duplicate_key_is_located_at_the_occurrence_that_counts():
    error = config_error("image: g\ntimeout: 5\ntimeout: soon\n")
    assert "line 3, column 1 timeout:" in str(error)


# --- every bad shape is a located ConfigError ---------------------------------------------------

# (text, the field named, where it is)
BAD_FIELDS = [
    ("imgae: g\n", "imgae", "line 1, column 1"),
    ("image: g\ncolour: red\n", "colour", "line 2, column 1"),
    ("image: g\nlimits:\n  memroy: 1g\n", "limits.memroy", "line 3, column 3"),
    ("image: g\nlimits:\n  gpu: 1\n", "limits.gpu", "line 3, column 3"),
    ("image: g\ntimeout: soon\n", "timeout", "line 2"),
    ('image: g\ntimeout: "soon"\n', "timeout", "line 2"),
    ("image: g\ntimeout: 0\n", "timeout", "line 2"),
    ("image: g\ntimeout: -5\n", "timeout", "line 2"),
    ("image: g\ntimeout: 3601\n", "timeout", "line 2"),
    ("image: g\ntimeout: .inf\n", "timeout", "line 2"),
    ("image: g\ntimeout: .nan\n", "timeout", "line 2"),
    ("image: g\ntimeout: [1]\n", "timeout", "line 2"),
    ("image: g\nnetwork: maybe\n", "network", "line 2"),
    ("image: g\nnetwork: 2\n", "network", "line 2"),
    ("image: g\nrun_as_root: sure\n", "run_as_root", "line 2"),
    ("image: g\nlimits: 5\n", "limits", "line 2"),
    ("image: g\nlimits: [memory, 1g]\n", "limits", "line 2"),
    ("image: g\nlimits:\n  cpus: -1\n", "limits.cpus", "line 3"),
    ("image: g\nlimits:\n  cpus: 0\n", "limits.cpus", "line 3"),
    ("image: g\nlimits:\n  cpus: 65\n", "limits.cpus", "line 3"),
    ("image: g\nlimits:\n  cpus: lots\n", "limits.cpus", "line 3"),
    ("image: g\nlimits:\n  pids: 0\n", "limits.pids", "line 3"),
    ("image: g\nlimits:\n  pids: 1.5\n", "limits.pids", "line 3"),
    ("image: g\nlimits:\n  pids: 100000\n", "limits.pids", "line 3"),
    ("image: g\nlimits: {memory: 0}\n", "limits.memory", "line 2"),
    ("image: g\nlimits: {memory: -1}\n", "limits.memory", "line 2"),
    ("image: g\nlimits: {memory: lots}\n", "limits.memory", "line 2"),
    ("image: g\nlimits: {memory: 512x}\n", "limits.memory", "line 2"),
    ("image: g\nlimits: {memory: 1.5}\n", "limits.memory", "line 2"),
    ("image: g\nlimits: {memory: true}\n", "limits.memory", "line 2"),
    ("image: g\nlimits: {memory: [1g]}\n", "limits.memory", "line 2"),
    ("image: g\nlimits: {memory: '" + "9" * 400 + "t'}\n", "limits.memory", "line 2"),
    ("image: ''\n", "image", "line 1"),
    ("image:\n", "image", "line 1"),
    ("image: my grader image\n", "image", "line 1"),
    ('image: "grader:1\\n"\n', "image", "line 1"),
    ("image: 'grader:1\t'\n", "image", "line 1"),
    ("image: 123\n", "image", "line 1"),
    ("image: [a, b]\n", "image", "line 1"),
    ("image: {name: a}\n", "image", "line 1"),
    ("image: " + "a" * 513 + "\n", "image", "line 1"),
    ("timeout: 30\n", "image", "line 1"),
    ("image: g\nvisibility: public\n", "visibility", "line 2"),
    ("image: g\nvisibility: Hidden\n", "visibility", "line 2"),
    ("image: g\nruntime: kata\n", "runtime", "line 2"),
    ("image: g\nruntime: gvisor\n", "runtime", "line 2"),
    ("image: g\n1: one\n", "1", "line 2"),
]


@pytest.mark.parametrize(("text", "field", "where"), BAD_FIELDS)
def test_a_bad_setting_is_a_config_error_naming_its_field_and_line(text, field, where):
    error = config_error(text)
    assert any(p.field == field and p.where.startswith(where) for p in error.problems), str(error)
    assert f"{where}" in str(error)
    assert f" {field}: " in str(error)


def test_a_misspelt_key_suggests_the_real_one():
    assert "did you mean 'image'?" in str(config_error("imgae: g\n"))


def test_a_misspelt_nested_key_suggests_the_real_one_from_its_own_section():
    message = str(config_error("image: g\nlimits:\n  memroy: 1g\n"))
    assert "unknown setting 'memroy'; did you mean 'memory'?" in message


def test_a_key_like_nothing_known_gets_no_suggestion():
    assert "did you mean" not in str(config_error("image: g\nzzzz: 1\n"))


def test_the_allowed_values_are_named_when_an_enum_is_wrong():
    message = str(config_error("image: g\nvisibility: public\n"))
    for level in ("hidden", "score", "tests", "full"):
        assert level in message
    assert "runc" in str(config_error("image: g\nruntime: kata\n"))


def test_a_missing_image_says_it_is_required():
    assert "image: this setting is required" in str(config_error("timeout: 30\n"))


def test_every_problem_is_reported_at_once():
    error = config_error("imgae: g\ntimeout: soon\nlimits: {pids: 0}\n")
    assert {p.field for p in error.problems} == {"image", "imgae", "timeout", "limits.pids"}


def test_the_error_starts_with_the_file_it_is_about():
    error = config_error("image: g\ntimeout: soon\n", file="course/.github/pushgrade.yml")
    assert str(error).startswith("course/.github/pushgrade.yml: ")
    assert error.file == "course/.github/pushgrade.yml"


# --- files that are not settings at all ----------------------------------------------------------


def test_a_yaml_syntax_error_names_its_line_and_column():
    error = config_error("image: g\nlimits: {memory: 1g\ntimeout: 3\n")
    assert "line 3, column 8: not valid YAML" in str(error)


def test_tab_indentation_is_a_yaml_error_with_its_line():
    assert "line 3" in str(config_error("image: g\nlimits:\n\tmemory: 1g\n"))


def test_two_documents_are_refused():
    assert "line 2" in str(config_error("image: a\n---\nimage: b\n"))


def test_python_tags_are_refused_and_never_run():
    error = config_error("image: !!python/object/apply:os.system ['touch /tmp/pwned']\n")
    assert "not valid YAML" in str(error)


def test_an_unhashable_key_is_a_yaml_error():
    assert "not valid YAML" in str(config_error("? [a, b]\n: 1\nimage: g\n"))


def test_a_nul_character_is_a_yaml_error():
    assert "not valid YAML" in str(config_error("image: g\x00\n"))


@pytest.mark.parametrize(
    "text",
    ["", "   \n# only a comment\n", "null\n", "~\n", "- image: g\n", "just a string\n", "42\n"],
    ids=["empty", "comment", "null", "tilde", "list", "string", "number"],
)
def test_a_file_that_is_not_a_mapping_is_refused(text):
    assert "expected a mapping of settings" in str(config_error(text))


def test_a_scalar_yaml_cannot_build_is_a_config_error_not_a_crash():
    assert "a value cannot be read" in str(config_error("image: 2001-02-30\n"))
    assert "a value cannot be read" in str(config_error("image: g\ntimeout: " + "1" * 5000))


def test_non_utf8_bytes_are_refused_naming_the_byte():
    assert "not UTF-8 text (byte 7)" in str(config_error(b"image: \xff\xfe\n"))


def test_a_file_of_exactly_256_kib_is_read_and_one_byte_more_is_refused():
    text = "image: g\n#" + "x" * (MAX_CONFIG_BYTES - 11) + "\n"
    assert len(text) == MAX_CONFIG_BYTES
    assert load_config(text).image == "g"
    assert load_config(text.encode()).image == "g"
    bigger = text + " "
    assert "larger than 256 KiB" in str(config_error(bigger))
    assert "larger than 256 KiB" in str(config_error(bigger.encode()))


def test_a_huge_file_is_refused_before_it_is_parsed():
    started = time.perf_counter()
    error = config_error(b"[" * (50 * 1024 * 1024))
    assert "larger than 256 KiB" in str(error)
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize(
    "nesting",
    [
        "extra: " + "[" * 100_000 + "]" * 100_000,
        "extra: " + "[" * 200_000,
        "extra: " + "{a: " * 60_000 + "1" + "}" * 60_000,
        "extra:\n" + "".join(" " * (2 * depth) + "-\n" for depth in range(400)),
    ],
    ids=["flow-lists", "unclosed", "flow-maps", "block-lists"],
)
def test_deeply_nested_yaml_is_a_config_error(nesting):
    text = ("image: g\n" + nesting)[:MAX_CONFIG_BYTES]
    started = time.perf_counter()
    with pytest.raises(ConfigError):
        load_config(text)
    assert time.perf_counter() - started < 10


def _alias_bomb(key: str, use: str = "") -> str:
    """9**9 "lol"s if expanded: each level lists the one before nine times."""
    lines = ["a: &a [" + ", ".join(['"lol"'] * 9) + "]"]
    previous = "a"
    for name in "bcdefgh":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    lines.append(f"{key}: &i [" + ", ".join(["*h"] * 9) + "]")
    return "\n".join([*lines, use]) + "\n"


def _mapping_bomb(use: str) -> str:
    """2**40 leaves if expanded: each mapping holds the one before twice."""
    lines = ["x0: &x0 {l: lol, r: lol}"]
    lines += [f"x{n}: &x{n} {{l: *x{n - 1}, r: *x{n - 1}}}" for n in range(1, 40)]
    return "\n".join([*lines, use]) + "\n"


# Run in a child with capped memory and a hard deadline: a bomb that goes off must fail the test,
# not hang the suite or the machine.
_LOAD_IN_CHILD = """
import resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from ghapp.config import ConfigError, load_config
text = sys.stdin.read()
started = time.perf_counter()
try:
    load_config(text)
    kind = "config"
except ConfigError:
    kind = "ConfigError"
print(kind, time.perf_counter() - started)
"""

BOMBS = {
    "unknown-key": _alias_bomb("lol", "image: g"),
    "image": _alias_bomb("lol", "image: *i"),
    "timeout": _alias_bomb("lol", "image: g\ntimeout: *i"),
    "limits": _alias_bomb("limits", "image: g"),
    "memory": _alias_bomb("lol", "image: g\nlimits: {memory: *i}"),
    "cpus": _alias_bomb("lol", "image: g\nlimits: {cpus: *i}"),
    "pids": _alias_bomb("lol", "image: g\nlimits: {pids: *i}"),
    "network": _alias_bomb("lol", "image: g\nnetwork: *i"),
    "runtime": _alias_bomb("lol", "image: g\nruntime: *i"),
    "run_as_root": _alias_bomb("lol", "image: g\nrun_as_root: *i"),
    "visibility": _alias_bomb("lol", "image: g\nvisibility: *i"),
    "mapping-as-limits": _mapping_bomb("image: g\nlimits: *x39"),
    "mapping-as-memory": _mapping_bomb("image: g\nlimits: {memory: *x39}"),
    "mapping-as-image": _mapping_bomb("image: *x39"),
}


@pytest.mark.parametrize("text", BOMBS.values(), ids=BOMBS.keys())
def test_a_billion_laughs_alias_bomb_is_refused_fast_and_small(text):
    child = subprocess.run(
        [sys.executable, "-c", _LOAD_IN_CHILD],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    assert child.returncode == 0, child.stderr[-2000:]
    kind, elapsed = child.stdout.split()
    assert kind == "ConfigError"
    assert float(elapsed) < 2


def test_an_alias_between_known_settings_is_followed():
    config = load_config("image: g\nnetwork: &on true\nrun_as_root: *on\n")
    assert config.network is config.run_as_root is True


# --- properties ---------------------------------------------------------------------------------


def _only_config_or_config_error(text: str | bytes) -> None:
    try:
        result = load_config(text)
    except ConfigError as error:
        assert str(error)
    else:
        assert isinstance(result, AssignmentConfig)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_any_text_gives_a_config_or_a_config_error(text):
    _only_config_or_config_error(text)


@settings(max_examples=200, deadline=None)
@given(st.binary())
def test_any_bytes_give_a_config_or_a_config_error(data):
    _only_config_or_config_error(data)


_KEYS = st.sampled_from(
    ["image", "imgae", "timeout", "limits", "memory", "cpus", "pids", "network", "runtime",
     "run_as_root", "visibility", "<<", "? x", "- a", "1", "null", "&a a", "*a"]
)  # fmt: skip
_VALUES = st.one_of(
    st.sampled_from(
        ["g", "''", "512m", "1.5G", "-1", "0", "1e9", ".inf", ".nan", "yes", "maybe", "~", "[]",
         "{}", "[1, 2]", "{memory: 1g}", "*a", "&a x", "!!str 5", "!!binary aGk=", "2001-02-30",
         "2001-02-03", "0x1F", "0o17", "1_000", "1:30", '"\\x00"', "|\n  text", "runsc", "score"]
    ),
    st.text(max_size=8),
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), _KEYS, _VALUES).map(
            lambda parts: " " * (2 * parts[0]) + f"{parts[1]}: {parts[2]}"
        ),
        max_size=12,
    )
)
def test_any_yaml_shaped_lines_give_a_config_or_a_config_error(lines):
    _only_config_or_config_error("\n".join(lines) + "\n")


_VALID = st.fixed_dictionaries(
    {
        "image": st.from_regex(r"[a-z0-9][a-z0-9./:_@-]{0,40}", fullmatch=True),
        "timeout": st.floats(min_value=0.001, max_value=3600),
        "limits": st.fixed_dictionaries(
            {
                "memory": st.integers(1, 64 * GiB),
                "cpus": st.floats(min_value=0.01, max_value=64),
                "pids": st.integers(16, 32768),
            }
        ),
        "network": st.booleans(),
        "runtime": st.sampled_from([r.value for r in Runtime]),
        "run_as_root": st.booleans(),
        "visibility": st.sampled_from([v.value for v in VisibilityLevel]),
    }
)


@settings(max_examples=200, deadline=None)
@given(_VALID)
def test_any_valid_settings_written_as_yaml_load_back_unchanged(fields):
    config = load_config(yaml.safe_dump(fields))
    assert config.model_dump(mode="json") == fields
