"""The image rule: which reference a tenant may run, after putting it in its one spelling."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ghapp.core.image_rule import (
    ANY,
    RESERVED,
    DockerfileRefused,
    ImageRefused,
    canonical,
    canonical_prefix,
    dockerfile_images,
    judge_image,
    onbuild_images,
    under,
)

HEX64 = "0123456789abcdef" * 4
DIGEST = f"sha256:{HEX64}"
# What the operator tied to uni-a: its namespace on the university's registry, and one official
# image on Docker Hub.
UNI_A = tuple(canonical_prefix(p) for p in ("registry.example/uni-a/", "docker.io/library/python"))
PURE_HEX = re.compile(r"^(?:sha256:)?[0-9a-fA-F]+$", re.IGNORECASE)


# --- canonical spelling -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "spelled"),
    [
        ("python", "docker.io/library/python:latest"),
        ("python:3.11", "docker.io/library/python:3.11"),
        ("library/python", "docker.io/library/python:latest"),
        ("docker.io/python", "docker.io/library/python:latest"),
        ("docker.io/library/python", "docker.io/library/python:latest"),
        ("index.docker.io/library/python:3.11", "docker.io/library/python:3.11"),
        ("registry-1.docker.io/library/python", "docker.io/library/python:latest"),
        ("registry.hub.docker.com/library/python", "docker.io/library/python:latest"),
        ("pushgrade-test/python:3.11", "docker.io/pushgrade-test/python:3.11"),
        ("Registry.Example/uni-a/x", "registry.example/uni-a/x:latest"),
        ("REGISTRY.EXAMPLE:5000/uni-a/x:v1", "registry.example:5000/uni-a/x:v1"),
        ("localhost:5000/x:1", "localhost:5000/x:1"),
        ("localhost/x", "localhost/x:latest"),
        ("ghcr.io/cs101/hw1-grader:2026", "ghcr.io/cs101/hw1-grader:2026"),
        (
            "registry.example/uni-a/a.b_c__d-e--f:Tag_1.x",
            "registry.example/uni-a/a.b_c__d-e--f:Tag_1.x",
        ),
        (f"python@{DIGEST}", f"docker.io/library/python@{DIGEST}"),
        (f"registry.example/uni-a/grader@{DIGEST}", f"registry.example/uni-a/grader@{DIGEST}"),
        # A digest pins the image: the tag beside it is not what the engine is given.
        (f"registry.example/uni-a/grader:1@{DIGEST}", f"registry.example/uni-a/grader@{DIGEST}"),
        # Hex with a tag, or under a namespace, is a name: the engine is given name:tag.
        ("deadbeef:1", "docker.io/library/deadbeef:1"),
        ("deadbeef/grader", "docker.io/deadbeef/grader:latest"),
    ],
)
def test_every_spelling_of_an_image_becomes_one_with_a_tag_or_a_digest(reference, spelled):
    assert canonical(reference).reference == spelled


def test_docker_hub_is_spelled_docker_io_with_library_for_official_images():
    found = canonical("index.docker.io/python:3.11")
    assert (found.name, found.host, found.tag, found.digest) == (
        "docker.io/library/python",
        "docker.io",
        "3.11",
        None,
    )


def test_a_registry_host_is_lower_cased_but_a_repository_path_is_not_forgiven():
    assert canonical("Registry.Example/uni-a/x").host == "registry.example"
    with pytest.raises(ImageRefused, match="repository names are lower case"):
        canonical("registry.example/Uni-A/x")


@pytest.mark.parametrize(
    ("reference", "why"),
    [
        ("Python", "repository names are lower case"),
        ("registry.example/Uni-A/grader", "repository names are lower case"),
        ("python 3", "contains spaces"),
        (" python", "contains spaces"),
        ("python\t", "contains spaces"),
        ("python\n", "contains spaces"),
        ("", "1 to 512 characters"),
        ("x" * 513, "1 to 512 characters"),
        ("python@sha256:abc", "a digest is sha256: and 64 hex digits"),
        (f"python@sha256:{HEX64.upper()}", "a digest is sha256: and 64 hex digits"),
        (f"python@sha512:{HEX64}{HEX64}", "a digest is sha256: and 64 hex digits"),
        ("python@", "a digest is sha256: and 64 hex digits"),
        ("8277ce8ede63", "looks like an image ID"),
        ("abc", "looks like an image ID"),
        ("ABC", "looks like an image ID"),
        (HEX64, "looks like an image ID"),
        (f"sha256:{HEX64}", "looks like an image ID"),
        ("sha256:8277ce", "looks like an image ID"),
        (f"SHA256:{HEX64}", "looks like an image ID"),
        ("python:", "is not a tag"),
        ("python:-1", "is not a tag"),
        ("python:.1", "is not a tag"),
        ("python:" + "a" * 129, "is not a tag"),
        ("-registry.example/x", "is not a registry host"),
        ("registry..example/x", "is not a registry host"),
        ("registry.example//x", "is not a repository name"),
        ("registry.example/uni-a/", "is not a repository name"),
        ("/python", "is not a repository name"),
        ("uni-a/grader!", "is not a repository name"),
        ("uni-a/-grader", "is not a repository name"),
        ("registry.example/uni-a/../uni-b/x", "is not a repository name"),
    ],
)
def test_a_malformed_reference_is_refused_saying_why(reference, why):
    with pytest.raises(ImageRefused, match=re.escape(why)):
        canonical(reference)


@pytest.mark.parametrize(
    "reference", ["8277ce8ede63", "abc", "ABC", "dead", HEX64, f"sha256:{HEX64}", "sha256:82"]
)
def test_an_image_id_prefix_is_never_resolved_even_where_every_image_is_allowed(reference):
    verdict = judge_image(reference, (ANY,), who="teacher")
    assert not verdict.allowed
    assert verdict.canonical is None
    assert "looks like an image ID" in verdict.reason


@pytest.mark.parametrize("reference", ["a", "f", "ab", "0", "42"])
def test_even_a_one_or_two_digit_image_id_prefix_is_refused(reference):
    with pytest.raises(ImageRefused, match="image ID"):
        canonical(reference)


# --- prefixes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "spelled"),
    [
        ("registry.example/uni-a/", "registry.example/uni-a/"),
        ("Registry.Example/uni-a/", "registry.example/uni-a/"),
        ("registry.example/uni-a//", "registry.example/uni-a/"),
        ("registry.example/uni-a/grader", "registry.example/uni-a/grader"),
        ("registry.example", "registry.example/"),
        ("registry.example/", "registry.example/"),
        ("localhost:5000/", "localhost:5000/"),
        ("index.docker.io/library/", "docker.io/library/"),
        ("docker.io/library/python", "docker.io/library/python"),
        ("pushgrade-test/", "docker.io/pushgrade-test/"),
        ("*", "*"),
    ],
)
def test_an_operators_prefix_is_put_in_the_same_spelling_as_references(prefix, spelled):
    assert canonical_prefix(prefix) == spelled


@pytest.mark.parametrize(
    ("prefix", "why"),
    [
        ("docker.io/", "all of Docker Hub is not a namespace"),
        ("docker.io", "all of Docker Hub is not a namespace"),
        ("index.docker.io/", "all of Docker Hub is not a namespace"),
        ("Registry-1.Docker.IO/", "all of Docker Hub is not a namespace"),
        ("/", "all of Docker Hub is not a namespace"),
        ("", "a prefix is a registry host and namespace"),
        ("registry.example/Uni-A/", "is not a repository name (lower case)"),
        ("registry.example/uni-a:1", "is not a repository name (lower case)"),
        ("-registry.example/uni-a/", "is not a registry host"),
        ("registry..example/uni-a/", "is not a registry host"),
        ("registry.example/uni a/", "no spaces and no digest"),
        (f"registry.example/uni-a/grader@{DIGEST}", "no spaces and no digest"),
    ],
)
def test_a_prefix_that_is_not_one_namespace_is_refused(prefix, why):
    with pytest.raises(ValueError, match=re.escape(why)):
        canonical_prefix(prefix)


@pytest.mark.parametrize("prefix", ["python", "docker.io/python"])
def test_a_prefix_naming_an_official_image_covers_it(prefix):
    assert under(canonical("python:3.11").name, canonical_prefix(prefix))


@pytest.mark.parametrize(
    ("prefix", "reference", "covered"),
    [
        ("registry.example/uni-a/", "registry.example/uni-a/grader:1", True),
        ("registry.example/uni-a/", "registry.example/uni-a/x/y", True),
        ("registry.example/uni-a/", f"Registry.Example/uni-a/grader@{DIGEST}", True),
        ("registry.example/uni-a/", "registry.example/uni-ab/grader", False),
        ("registry.example/uni-a/", "registry.example/uni/a", False),
        ("registry.example/uni-a/", "registry.example:5000/uni-a/grader", False),
        ("registry.example/uni-a/", "mirror.example/uni-a/grader", False),
        ("registry.example/uni-a/", "uni-a/grader", False),
        ("registry.example/uni-a/grader", "registry.example/uni-a/grader:1", True),
        ("registry.example/uni-a/grader", "registry.example/uni-a/grader:2", True),
        ("registry.example/uni-a/grader", f"registry.example/uni-a/grader@{DIGEST}", True),
        ("registry.example/uni-a/grader", "registry.example/uni-a/grader2", False),
        ("registry.example/uni-a/grader", "registry.example/uni-a/grader/sub", False),
        ("registry.example/", "registry.example/any/depth/at/all:1", True),
        ("registry.example/", "registry.example.evil/uni-a/x", False),
        ("docker.io/library/", "python:3.11", True),
        ("docker.io/library/", "uni-b/grader", False),
        ("docker.io/library/python", "index.docker.io/library/python:3", True),
        ("docker.io/library/python", "python-evil", False),
        ("*", "registry.example/uni-b/grader:1", True),
        ("*", "anything.example/at/all", True),
    ],
)
def test_a_prefix_covers_names_only_at_path_component_boundaries(prefix, reference, covered):
    assert under(canonical(reference).name, canonical_prefix(prefix)) is covered


# --- judging ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    [
        "pushgrade-grader/uni-a-hw1:3f2a9c1",
        "docker.io/pushgrade-grader/uni-a-hw1:3f2a9c1",
        "index.docker.io/pushgrade-grader/x",
        "Docker.IO/pushgrade-grader/x:1",
        "pushgrade/volume-template:1",
        "registry-1.docker.io/pushgrade/volume-template:1",
        f"pushgrade/volume-template@{DIGEST}",
    ],
)
@pytest.mark.parametrize(
    "prefixes", [(ANY,), ("docker.io/pushgrade-grader/", "docker.io/pushgrade/")]
)
def test_pushgrades_own_images_are_refused_whatever_the_operator_allows(reference, prefixes):
    verdict = judge_image(reference, prefixes, who="uni-a")
    assert not verdict.allowed
    assert "pushgrade's own" in verdict.reason
    assert repr(reference) in verdict.reason


@pytest.mark.parametrize(
    "reference",
    [
        "registry.example/uni-b/grader:1",
        "Registry.Example/uni-b/grader:1",
        "registry.example/uni-ab/grader:1",
        "registry.example/uni-a",
        "registry.example:5000/uni-a/grader:1",
        "uni-a/grader:1",
        "python-evil:1",
        "docker.io/library/python/sub:1",
    ],
)
def test_an_image_outside_the_tenants_prefixes_is_refused_naming_it(reference):
    verdict = judge_image(reference, UNI_A, who="uni-a")
    assert not verdict.allowed
    assert verdict.canonical == canonical(reference)
    assert repr(reference) in verdict.reason
    assert "lets uni-a use" in verdict.reason
    assert "allowed here: registry.example/uni-a/, docker.io/library/python" in verdict.reason


@pytest.mark.parametrize(
    "reference",
    [
        "registry.example/uni-a/grader:1",
        "REGISTRY.EXAMPLE/uni-a/x/y",
        f"registry.example/uni-a/grader@{DIGEST}",
        "python",
        "python:3.11",
        "library/python:3.11-slim",
        f"index.docker.io/library/python@{DIGEST}",
    ],
)
def test_an_image_under_the_tenants_prefixes_is_allowed(reference):
    verdict = judge_image(reference, UNI_A, who="uni-a")
    assert verdict.allowed
    assert verdict.reason == ""
    assert verdict.canonical == canonical(reference)


def test_a_tenant_tied_to_nothing_may_run_nothing():
    verdict = judge_image("python:3.11", (), who="uni-c")
    assert not verdict.allowed
    assert "allowed here: none" in verdict.reason


def test_a_malformed_reference_is_refused_with_the_reason_canonical_gives():
    verdict = judge_image("Python:3.11", (ANY,), who="uni-a")
    assert not verdict.allowed
    assert verdict.canonical is None
    assert "'Python:3.11'" in verdict.reason
    assert "lower case" in verdict.reason


# --- properties ---------------------------------------------------------------------------------


def _join(host: str, namespace: str, repository: str, suffix: str) -> str:
    return "/".join(part for part in (host, namespace, repository) if part) + suffix


_HOSTS = st.sampled_from(
    ["", "registry.example", "Registry.Example", "REGISTRY.EXAMPLE", "registry.example:5000",
     "docker.io", "Docker.IO", "index.docker.io", "INDEX.DOCKER.IO", "registry-1.docker.io",
     "registry.hub.docker.com", "localhost", "localhost:5000", "ghcr.io", "mirror.example"]
)  # fmt: skip
_NAMESPACES = st.sampled_from(
    ["", "uni-a", "Uni-A", "UNI-A", "uni-b", "Uni-B", "UNI-B", "uni-ab", "uni", "library",
     "Library", "pushgrade-grader", "pushgrade", "uni-a/sub", "uni-b/sub", "uni-a/../uni-b",
     "uni-a/.", "8277ce8ede63"]
)  # fmt: skip
# Any length: the engine resolves an image-ID prefix of a single digit.
_HEX = st.text("0123456789abcdefABCDEF", min_size=1, max_size=64)
_REPOSITORIES = st.one_of(
    st.sampled_from(["grader", "python", "Python", "grader2", "volume-template", "x"]),
    st.from_regex(r"[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,4})?", fullmatch=True),
    _HEX,
)
_SUFFIXES = st.sampled_from(
    ["", ":1", ":latest", ":3.11", ":Tag_1", ":-bad", ":", f"@{DIGEST}", f":1@{DIGEST}",
     "@sha256:abc", f"@sha256:{HEX64.upper()}"]
)  # fmt: skip
# Well-formed and close to what uni-a may run, so that allowed references are explored too.
_PLAUSIBLE = st.builds(
    str.__add__,
    st.sampled_from(
        ["registry.example/uni-a/grader", "Registry.Example/uni-a/x", "REGISTRY.EXAMPLE/uni-a/s/x",
         "python", "library/python", "docker.io/library/python", "index.docker.io/library/python",
         "registry-1.docker.io/library/python", "registry.example/uni-b/grader", "uni-a/grader",
         "pushgrade-grader/uni-a-hw1", "python2", "registry.example/uni-ab/x"]
    ),
    st.sampled_from(["", ":1", ":3.11", f"@{DIGEST}", f":1@{DIGEST}"]),
)  # fmt: skip
REFERENCES = st.one_of(
    _PLAUSIBLE,
    st.builds(_join, _HOSTS, _NAMESPACES, _REPOSITORIES, _SUFFIXES),
    _HEX,  # a bare image ID prefix
    _HEX.map(lambda digits: f"sha256:{digits}"),
    st.text(st.sampled_from("abAB01:/@._- "), min_size=3, max_size=30),  # anything at all
)
OTHER_TENANTS = st.builds(
    _join,
    st.sampled_from(["registry.example", "Registry.Example", "REGISTRY.EXAMPLE"]),
    st.sampled_from(["uni-b", "Uni-B", "UNI-B", "uni-b/sub", "uni-b/uni-a"]),
    _REPOSITORIES,
    _SUFFIXES,
)


@settings(max_examples=1000, deadline=None)
@given(REFERENCES)
def test_whatever_a_tenant_writes_it_runs_only_what_its_operator_tied_to_it(reference):
    """The security property of the image rule, for any reference a teacher or student writes."""
    verdict = judge_image(reference, UNI_A, who="uni-a")
    if not verdict.allowed:
        assert verdict.reason
        return
    name = canonical(reference).name
    assert any(under(name, prefix) for prefix in UNI_A)
    assert not name.startswith(RESERVED)
    assert not PURE_HEX.match(reference)


@settings(max_examples=300, deadline=None)
@given(OTHER_TENANTS)
def test_no_reference_into_another_tenants_namespace_is_ever_allowed(reference):
    assert not judge_image(reference, UNI_A, who="uni-a").allowed


@settings(max_examples=300, deadline=None)
@given(st.one_of(_HEX, _HEX.map(lambda digits: f"sha256:{digits}")))
def test_an_image_id_of_any_length_is_never_allowed_whatever_the_prefixes(reference):
    assert not judge_image(reference, (ANY,), who="teacher").allowed


@settings(max_examples=500, deadline=None)
@given(REFERENCES)
def test_even_allowing_every_image_never_allows_one_of_pushgrades_own(reference):
    verdict = judge_image(reference, (ANY,), who="teacher")
    if verdict.allowed:
        assert not canonical(reference).name.startswith(RESERVED)


@settings(max_examples=1000, deadline=None)
@given(REFERENCES)
def test_the_canonical_spelling_is_its_own_canonical_spelling(reference):
    try:
        first = canonical(reference)
    except ImageRefused:
        return
    again = canonical(first.reference)
    assert (again.name, again.reference) == (first.name, first.reference)
    assert canonical(again.reference) == again
    # Judging the spelling the engine is given is judging what was written.
    assert (
        judge_image(first.reference, UNI_A, who="uni-a").allowed
        == judge_image(reference, UNI_A, who="uni-a").allowed
    )


# --- Dockerfiles --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dockerfile", "images"),
    [
        ("FROM python:3.11\nRUN pip install pytest\n", ["python:3.11"]),
        ("FROM golang:1.22 AS build\nRUN go build\nFROM build\n", ["golang:1.22"]),
        ("FROM golang:1.22 AS Build\nFROM build\n", ["golang:1.22"]),
        ("FROM scratch\nCOPY grader /grader\n", []),
        ("FROM golang AS build\nFROM alpine\nCOPY --from=build /a /b\n", ["golang", "alpine"]),
        ("FROM golang\nFROM alpine\nCOPY --from=0 /a /b\n", ["golang", "alpine"]),
        (
            "FROM alpine\nCOPY --from=registry.example/uni-b/x:1 /a /b\n",
            ["alpine", "registry.example/uni-b/x:1"],
        ),
        (
            "FROM alpine\nCOPY --chown=1:1 --link --from=other:2 /a /b\n",
            ["alpine", "other:2"],
        ),
        (
            "FROM alpine\nADD --from=registry.example/uni-b/x:1 /a /b\n",
            ["alpine", "registry.example/uni-b/x:1"],
        ),
        (
            "FROM alpine\nRUN --mount=type=bind,from=registry.example/uni-b/x,target=/t true\n",
            ["alpine", "registry.example/uni-b/x"],
        ),
        (
            "FROM alpine\nRUN --mount=from=registry.example/uni-b/x,type=cache,target=/t true\n",
            ["alpine", "registry.example/uni-b/x"],
        ),
        (
            "FROM alpine AS tools\nFROM alpine\nRUN --mount=type=bind,from=tools,target=/t true\n",
            ["alpine", "alpine"],
        ),
        ("FROM --platform=linux/amd64 img\n", ["img"]),
        ("FROM --platform=$BUILDPLATFORM golang AS build\n", ["golang"]),
        ("ARG BASE=img:1\nFROM $BASE\n", ["img:1"]),
        ("ARG BASE=img:1\nFROM ${BASE}\n", ["img:1"]),
        ('ARG BASE="img:1"\nFROM ${BASE}\n', ["img:1"]),
        ("ARG BASE=alpine\nFROM ${BASE:-python}\n", ["alpine"]),
        (
            "ARG REGISTRY=registry.example TAG=2\nFROM ${REGISTRY}/uni-a/grader:${TAG}\n",
            ["registry.example/uni-a/grader:2"],
        ),
        ("ARG IMG=img:2\nFROM alpine\nCOPY --from=$IMG /a /b\n", ["alpine", "img:2"]),
        # An ARG inside a stage is not seen by a later FROM.
        ("ARG BASE=alpine\nFROM alpine\nARG BASE=evil\nFROM $BASE\n", ["alpine", "alpine"]),
        ("FROM \\\n  python:3.11 \\\n  AS base\nFROM base\n", ["python:3.11"]),
        ("# FROM evil\nFROM alpine\n  # FROM evil\nRUN true\n", ["alpine"]),
        ("FROM alpine\nRUN apk add \\\n# FROM evil\n  git\n", ["alpine"]),
        ("FROM alpine\nRUN echo FROM evil\n", ["alpine"]),
        ("from alpine as build\ncopy --from=other:1 /a /b\nfrom build\n", ["alpine", "other:1"]),
        ("FROM alpine\r\nRUN true\r\nFROM python:3.11\r\n", ["alpine", "python:3.11"]),
        # With the escape directive, a backslash is a character: the next line stands alone.
        (
            "# escape=`\nFROM `\n  alpine\nRUN echo c:\\\nFROM python:3.11\n",
            ["alpine", "python:3.11"],
        ),
        # A stage named as its own image is still an image.
        ("FROM build AS build\n", ["build"]),
    ],
)
def test_every_image_a_dockerfile_takes_is_found_and_no_stage(dockerfile, images):
    assert dockerfile_images(dockerfile) == images


@pytest.mark.parametrize(
    ("dockerfile", "why"),
    [
        ("ARG BASE\nFROM $BASE\n", "$BASE has no default before the first FROM"),
        ("FROM ${BASE:-python}\n", "$BASE has no default before the first FROM"),
        ("FROM img:$TARGETARCH\n", "$TARGETARCH has no default before the first FROM"),
        ("FROM alpine\nARG X=evil\nCOPY --from=$X /a /b\n", "$X has no default"),
        ("FROM alpine\nRUN --mount=type=bind,from=${X},target=/t true\n", "$X has no default"),
        ("FROM --platform=linux/amd64\n", "FROM names no image"),
    ],
)
def test_a_dockerfile_whose_image_cannot_be_told_is_refused(dockerfile, why):
    with pytest.raises(DockerfileRefused, match=re.escape(why)):
        dockerfile_images(dockerfile)


@pytest.mark.parametrize(
    ("dockerfile", "image"),
    [
        pytest.param(
            "FROM alpine AS b\nFROM b\\\nogus.example/uni-b/x\n",
            "bogus.example/uni-b/x",
            id="continuation-joins-without-a-space-from",
        ),
        pytest.param(
            "FROM alpine AS b\nFROM alpine\nCOPY --from=b\\\nogus.example/uni-b/x /a /b\n",
            "bogus.example/uni-b/x",
            id="continuation-joins-without-a-space-copy",
        ),
        pytest.param(
            "FROM alpine\nCOPY \\\n\n--from=registry.example/uni-b/x /a /b\n",
            "registry.example/uni-b/x",
            id="blank-line-inside-a-continuation",
        ),
        pytest.param(
            "FROM alpine\nRUN echo \\\\\nFROM registry.example/uni-b/x\n",
            "registry.example/uni-b/x",
            id="escaped-escape-ends-the-line",
        ),
        pytest.param(
            "# syntax=docker/dockerfile:1\n# escape=`\nFROM alpine\nRUN echo \\\n"
            "FROM registry.example/uni-b/x\n",
            "registry.example/uni-b/x",
            id="escape-directive-after-syntax-directive",
        ),
    ],
)
def test_lines_are_joined_as_docker_joins_them(dockerfile, image):
    """Docker joins a continued line without a space, skips blank lines inside it, ends it at an
    escaped escape (a line ending in two backslashes), and honours `# escape=` after the other
    parser directives (`# syntax=`)."""
    try:
        found = dockerfile_images(dockerfile)
    except DockerfileRefused:
        return  # refusing what cannot be told is as safe
    assert image in found


def test_a_base_images_onbuild_triggers_are_read_for_the_images_they_take():
    triggers = ["COPY --from=registry.example/uni-b/x:1 /a /b", "RUN make", "ADD --from=y /c /d"]
    assert onbuild_images(triggers) == ["registry.example/uni-b/x:1", "y"]
    assert onbuild_images([]) == []
