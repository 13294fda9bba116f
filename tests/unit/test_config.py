"""`.github/pushgrade.yml`: untrusted YAML in, the settings it holds or a located `ConfigError`."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ghapp.core.config import (
    SHORT_FORM_NAME,
    AssignmentConfig,
    ConfigError,
    LateConfig,
    LatePolicy,
    PushgradeConfig,
    Runtime,
    VisibilityLevel,
    load_config,
    load_file,
)
from ghapp.core.located_yaml import MAX_CONFIG_BYTES
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
from ghapp.core.config import ConfigError, load_config
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
    "repos": _alias_bomb("lol", "image: g\nrepos: *i"),
    "branches": _alias_bomb("lol", "image: g\nbranches: *i"),
    "due": _alias_bomb("lol", "image: g\ndue: *i"),
    "late": _alias_bomb("lol", "image: g\nlate: *i"),
    "cutoff": _alias_bomb("lol", "image: g\nlate: {cutoff: *i}"),
    "after_due": _alias_bomb("lol", "image: g\nafter_due: *i"),
    "max_graded_per_day": _alias_bomb("lol", "image: g\nmax_graded_per_day: *i"),
    "check_name": _alias_bomb("lol", "image: g\ncheck_name: *i"),
    "mapping-as-late": _mapping_bomb("image: g\nlate: *x39"),
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


# --- the full form: assignments: ----------------------------------------------------------------

HW1 = """\
assignments:
  hw1:
    repos: "hw1-*"
    image: ghcr.io/cs101/hw1-grader:2026
    timeout: 120
    limits: {memory: 512m, cpus: 1, pids: 256}
    network: false
    runtime: runc
    run_as_root: false
    branches: [main]
    due: 2026-12-01T23:59:00+01:00
    late: {policy: penalty, penalty_per_day: 0.1, cutoff: 2026-12-04T23:59:00+01:00}
    max_graded_per_day: 10
    visibility: tests
    after_due: full
    check_name: pushgrade
  hw2:
    repos: ["hw2-*", "homework2-*"]
    image: g
"""

CET = timezone(timedelta(hours=1))


def file_error(text: str | bytes, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_file(text, **kwargs)
    return caught.value


def test_a_full_form_file_sets_every_field_of_each_assignment():
    config = load_file(HW1)
    assert list(config.assignments) == ["hw1", "hw2"]
    hw1 = config.assignments["hw1"]
    assert hw1.repos == ("hw1-*",)
    assert hw1.branches == ("main",)
    assert hw1.due == datetime(2026, 12, 1, 23, 59, tzinfo=CET)
    assert hw1.late == LateConfig(
        policy=LatePolicy.PENALTY,
        penalty_per_day=0.1,
        cutoff=datetime(2026, 12, 4, 23, 59, tzinfo=CET),
    )
    assert hw1.max_graded_per_day == 10
    assert (hw1.visibility, hw1.after_due) == (VisibilityLevel.TESTS, VisibilityLevel.FULL)
    assert hw1.check_name == "pushgrade"
    assert config.assignments["hw2"].repos == ("hw2-*", "homework2-*")


def test_the_new_fields_default_to_the_repos_default_branch_no_deadline_and_no_limit():
    config = load_file("image: g\n").assignments[SHORT_FORM_NAME]
    assert config.repos is config.branches is config.due is config.late is None
    assert config.max_graded_per_day is config.after_due is None
    assert config.check_name == "pushgrade"


def test_the_short_form_read_as_a_file_is_one_assignment_for_this_repo():
    config = load_file(FULL, file="x.yml")
    assert config.assignments == {SHORT_FORM_NAME: load_config(FULL)}
    assert config.file == "x.yml"


def test_a_short_form_config_dumps_exactly_as_before_the_new_fields():
    assert set(load_config(FULL).model_dump(mode="json")) == {
        "image", "timeout", "limits", "network", "runtime", "run_as_root", "visibility"
    }  # fmt: skip


def test_a_full_assignment_survives_the_json_round_trip_the_worker_makes():
    for assignment in load_file(HW1).assignments.values():
        dumped = assignment.model_dump(mode="json")
        assert AssignmentConfig.model_validate(dumped) == assignment
    assert load_file(HW1).assignments["hw1"].model_dump(mode="json")["due"] == (
        "2026-12-01T23:59:00+01:00"
    )


def test_a_file_may_leave_the_image_to_the_other_file_but_load_config_may_not():
    assert load_file("assignments:\n  hw1: {repos: x}\n").assignments["hw1"].image is None
    assert "image: this setting is required" in str(config_error("visibility: tests\n"))
    with pytest.raises(ValidationError):
        AssignmentConfig.model_validate({})


def test_a_sandbox_spec_needs_an_image():
    config = load_file("assignments:\n  hw1: {repos: x}\n").assignments["hw1"]
    with pytest.raises(ValueError, match="no grader image"):
        config.sandbox_spec()


@pytest.mark.parametrize(
    "written",
    ["2026-12-01T23:59:00Z", "2026-12-01T23:59:00+01:00", "'2026-12-01T23:59:00+01:00'",
     "2026-12-01 23:59:00 +01:00", "'2026-12-01T23:59+01:00'"],
)  # fmt: skip
def test_a_deadline_with_an_offset_is_read_as_an_instant(written):
    due = load_config(f"image: g\ndue: {written}\n").due
    assert due is not None and due.utcoffset() is not None


def test_a_cutoff_equal_to_the_deadline_is_allowed():
    text = "image: g\ndue: 2026-12-01T23:59:00Z\nlate: {cutoff: 2026-12-02T00:59:00+01:00}\n"
    assert load_config(text).late.cutoff == load_config(text).due


# (text, the field named, where it is, words of the message)
BAD_FILES = [
    ("assignments:\n  hw1:\n    imgae: g\n", "assignments.hw1.imgae", "line 3, column 5",
     "did you mean 'image'?"),
    ("assignments:\n  hw1:\n    limits: {memroy: 1g}\n", "assignments.hw1.limits.memroy",
     "line 3, column 14", "did you mean 'memory'?"),
    ("assignments:\n  hw1:\n    late: {polcy: grade}\n", "assignments.hw1.late.polcy",
     "line 3, column 12", "did you mean 'policy'?"),
    ("assignmens:\n  hw1: {image: g}\n", "assignmens", "line 1, column 1",
     "did you mean 'assignments'?"),
    ("assignments:\n  hw1: {image: g}\nimage: g\n", "image", "line 3, column 1",
     "belongs inside an assignment"),
    ("assignments:\n  hw1: {image: g}\nassignment: g\n", "assignment", "line 3, column 1",
     "did you mean 'assignments'?"),
    ("assignments: {}\n", "assignments", "line 1", "at least one assignment"),
    ("assignments:\n", "assignments", "line 1", "the assignments by name"),
    ("assignments: [hw1]\n", "assignments", "line 1", "the assignments by name"),
    ("assignments:\n  hw1: 5\n", "assignments.hw1", "line 2, column 3", "mapping of settings"),
    ("assignments:\n  1: {image: g}\n", "assignments.1", "line 2, column 3", "assignment name"),
    ("assignments:\n  'a b': {image: g}\n", "assignments.a b", "line 2", "assignment name"),
    ("image: g\ndue: 2026-12-01\n", "due", "line 2", "add a time and a UTC offset"),
    ("image: g\ndue: '2026-12-01'\n", "due", "line 2", "add a time and a UTC offset"),
    ("image: g\ndue: 2026-12-01 23:59:00\n", "due", "line 2", "add a UTC offset"),
    ("image: g\ndue: '2026-12-01T23:59'\n", "due", "line 2", "add a UTC offset"),
    ("image: g\ndue: tomorrow\n", "due", "line 2", "not a date and time"),
    ("image: g\ndue: 1700000000\n", "due", "line 2", "not a date and time"),
    ("image: g\ndue: true\n", "due", "line 2", "not a date and time"),
    ("image: g\ndue: [2026-12-01T23:59:00Z]\n", "due", "line 2", "not a date and time"),
    ("image: g\ndue: '" + "9" * 100 + "'\n", "due", "line 2", "not a date and time"),
    ("image: g\ndue: 2026-12-01T23:59:00Z\nlate: {cutoff: 2026-12-04}\n", "late.cutoff",
     "line 3", "add a time"),
    ("image: g\ndue: 2026-12-01T23:59:00Z\nlate: {cutoff: 2026-11-30T00:00:00Z}\n",
     "late.cutoff", "line 3, column 8", "before due"),
    ("image: g\ndue: 2026-12-01T23:59:00Z\nlate: {policy: later}\n", "late.policy", "line 3",
     "'penalty'"),
    ("image: g\ndue: 2026-12-01T23:59:00Z\nlate: {penalty_per_day: 1.5}\n",
     "late.penalty_per_day", "line 3", "less than or equal to 1"),
    ("image: g\ndue: 2026-12-01T23:59:00Z\nlate: {penalty_per_day: -0.1}\n",
     "late.penalty_per_day", "line 3", "greater than or equal to 0"),
    ("image: g\ndue: 2026-12-01T23:59:00Z\nlate: {penalty_per_day: .nan}\n",
     "late.penalty_per_day", "line 3", ""),
    ("image: g\ndue: 2026-12-01T23:59:00Z\nlate: penalty\n", "late", "line 3",
     "mapping of settings"),
    ("image: g\nvisibility: tests\nafter_due: score\n", "after_due", "line 3",
     "shows students less"),
    ("image: g\nafter_due: public\n", "after_due", "line 2", "'hidden'"),
    ("image: g\nafter_due: [full]\n", "after_due", "line 2", "one value"),
    ("image: g\nmax_graded_per_day: 0\n", "max_graded_per_day", "line 2", "greater than"),
    ("image: g\nmax_graded_per_day: 2.5\n", "max_graded_per_day", "line 2", ""),
    ("image: g\nmax_graded_per_day: lots\n", "max_graded_per_day", "line 2", ""),
    ("image: g\ncheck_name: ''\n", "check_name", "line 2", "at least 1 character"),
    ("image: g\ncheck_name: " + "x" * 101 + "\n", "check_name", "line 2", "at most 100"),
    ("image: g\nbranches: []\n", "branches", "line 2", "list of them"),
    ("image: g\nbranches: ['']\n", "branches", "line 2", "non-empty"),
    ("image: g\nbranches: [main, 3]\n", "branches", "line 2", "non-empty"),
    ("image: g\nbranches: {main: 1}\n", "branches", "line 2", "list of them"),
    ("image: g\nrepos: []\n", "repos", "line 2", "list of them"),
    ("image: g\nrepos: ' hw1-*'\n", "repos", "line 2", "non-empty"),
    ("image: g\nrepos: 5\n", "repos", "line 2", "list of them"),
    ("image: g\nrepos: [hw1-*, null]\n", "repos", "line 2", "non-empty"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "field", "where", "words"), BAD_FILES)
def test_a_bad_file_is_a_config_error_naming_its_field_line_and_fix(text, field, where, words):
    error = file_error(text)
    assert any(p.field == field and p.where.startswith(where) for p in error.problems), str(error)
    assert words in str(error)


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("image: g\nlate: {policy: grade}\n", "late", "needs due"),
        ("image: g\nafter_due: hidden\n", "after_due", "'hidden' shows students less"),
        ("image: g\nvisibility: score\nafter_due: hidden\n", "after_due", "shows students less"),
    ],
)
def test_a_short_form_standing_alone_is_judged_with_its_defaults(text, field, words):
    error = config_error(text)
    assert [p.field for p in error.problems] == [field]
    assert error.problems[0].where.startswith("line ")
    assert words in str(error)


def test_after_due_as_open_as_visibility_or_more_is_allowed():
    for after in ("tests", "full"):
        assert load_config(f"image: g\nvisibility: tests\nafter_due: {after}\n").after_due == after


def test_every_assignments_problems_are_reported_at_once():
    error = file_error(
        "assignments:\n  hw1: {imgae: g}\n  hw2: {timeout: soon}\n  'x y': {image: g}\n"
    )
    assert {p.field for p in error.problems} == {
        "assignments.hw1.imgae", "assignments.hw2.timeout", "assignments.x y"
    }  # fmt: skip


def test_settings_that_contradict_only_across_files_are_left_to_the_merge():
    # The org file may set visibility and due; this file alone cannot be judged.
    config = load_file("assignments:\n  hw1:\n    repos: x\n    after_due: score\n    late: {}\n")
    assert config.assignments["hw1"].after_due is VisibilityLevel.SCORE


def test_an_org_file_must_say_which_repos_each_assignment_is_for():
    error = file_error("assignments:\n  hw1: {image: g}\n  hw2: {repos: x}\n", org=True)
    assert [(p.where, p.field) for p in error.problems] == [("line 2, column 3", "assignments.hw1")]
    assert "an org file's assignment needs repos:" in str(error)
    assert "each with repos:" in str(file_error("image: g\n", org=True))


def test_load_file_refuses_what_load_config_refuses():
    for text in ("", "- a\n", "image: g\x00\n", b"image: \xff\n", "a: [" * 10):
        with pytest.raises(ConfigError):
            load_file(text)
    assert "larger than 256 KiB" in str(file_error("#" * (MAX_CONFIG_BYTES + 1)))


def _only_file_or_config_error(text: str) -> None:
    try:
        result = load_file(text)
    except ConfigError as error:
        assert str(error)
    else:
        assert isinstance(result, PushgradeConfig)


_FULL_KEYS = st.sampled_from(
    ["assignments", "hw1", "hw 2", "1", "repos", "image", "imgae", "limits", "memory", "cpus",
     "branches", "due", "late", "policy", "penalty_per_day", "cutoff", "max_graded_per_day",
     "visibility", "after_due", "check_name", "<<", "- a", "&a a", "*a"]
)  # fmt: skip
_FULL_VALUES = st.one_of(
    st.sampled_from(
        ["g", "''", "hw1-*", "[a, b]", "[]", "{}", "~", "2026-12-01", "2026-12-01T23:59:00Z",
         "2026-12-01 23:59:00", "'2026-12-01T23:59'", "2001-02-30T00:00:00Z", "0", "0.1", "1.5",
         "-1", ".nan", "penalty", "grade", "score", "full", "hidden", "*a", "&a x", "{policy: x}",
         "[main]", "1e400", "99999-01-01T00:00:00Z", "!!timestamp 2026-12-01"]
    ),
    st.text(max_size=8),
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), _FULL_KEYS, _FULL_VALUES).map(
            lambda parts: " " * (2 * parts[0]) + f"{parts[1]}: {parts[2]}"
        ),
        max_size=14,
    )
)
def test_any_yaml_shaped_full_form_gives_a_file_or_a_config_error(lines):
    _only_file_or_config_error("\n".join(lines) + "\n")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_any_text_gives_a_file_or_a_config_error(text):
    _only_file_or_config_error(text)


@pytest.mark.parametrize("kind", ["gradescope", "junit", "tap", "exit-code"])
def test_a_grader_declares_what_it_produces(kind):
    config = load_config(f"image: g:1\nresults: {kind}\n")
    assert config.sandbox_spec().results == kind


def test_results_left_out_is_inferred_and_the_stored_dump_is_unchanged():
    config = load_config("image: g:1\n")
    assert config.results is None and config.sandbox_spec().results is None
    assert "results" not in config.model_dump()  # jobs stored before it dump as they did


def test_an_unknown_results_kind_names_the_choices():
    with pytest.raises(ConfigError) as err:
        load_config("image: g:1\nresults: xunit\n")
    assert "line 2, column 1 results:" in str(err.value)
    assert "gradescope" in str(err.value) and "exit-code" in str(err.value)


@pytest.mark.parametrize(("written", "chosen"), [("", "latest"), ("chosen_score: best\n", "best")])
def test_chosen_score_says_which_graded_commit_gives_the_grade(written, chosen):
    config = load_config("image: g\n" + written)
    assert config.chosen_score == chosen
    # Left out of the stored dump while at its default, as every newer field is.
    assert ("chosen_score" in config.model_dump()) is (chosen != "latest")


def test_a_chosen_score_that_is_neither_is_refused_with_both_named():
    message = str(config_error("image: g\nchosen_score: highest\n"))
    assert "chosen_score" in message and "latest" in message and "best" in message
