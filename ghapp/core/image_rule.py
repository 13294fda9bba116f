"""Which image a tenant's push may run: the image rule, as pure functions over reference strings.

A reference in a config (or a grader's Dockerfile `FROM`) is untrusted: a student may write their
repo's file, a teacher of another org may write theirs. The engine is shared by every tenant and
resolves names loosely (`python` is `docker.io/library/python:latest`; a bare hex string is an
image-ID prefix; a local tag needs no registry at all), so a reference is first put in one
canonical spelling, `host/path[:tag|@digest]`, and only then compared with the prefixes the
operator tied to the tenant (`registry.example/uni-a/`), at path-component boundaries. Whatever
the prefixes say, never: an image ID or a prefix of one, `sha256:…`, a name in pushgrade's own
namespaces (built graders, the sandbox's helper image), or anything malformed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
HUB_ALIASES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
# pushgrade's own names on the engine: built graders (which carry their installation) and the
# sandbox's volume template. No config or Dockerfile may name them, whatever the operator allows.
RESERVED = ("docker.io/pushgrade-grader/", "docker.io/pushgrade/")
ANY = "*"  # a prefix that allows every reference (the single-tenant default)

MAX_REFERENCE = 512
_HOST = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9-]+)*(?::\d{1,5})?$"
)
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")


class ImageRefused(ValueError):
    """A reference that is not one this tenant may run; the message says why, for the teacher."""


@dataclass(frozen=True)
class Canonical:
    """A reference in its one spelling: `name` is `host/path`, the host lower case, Docker Hub
    spelled `docker.io` with `library/` for official images."""

    name: str
    tag: str | None
    digest: str | None

    @property
    def host(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def reference(self) -> str:
        """The spelling given to the engine: a tag or digest always, so nothing is resolved as
        an image-ID prefix."""
        if self.digest:
            return f"{self.name}@{self.digest}"
        return f"{self.name}:{self.tag or 'latest'}"


def _is_host(first: str) -> bool:
    return "." in first or ":" in first or first.lower() == "localhost"


def canonical(reference: str) -> Canonical:
    """`reference` in its canonical spelling, or `ImageRefused` saying what is wrong with it."""
    if not isinstance(reference, str) or not reference or len(reference) > MAX_REFERENCE:
        raise ImageRefused("an image reference is 1 to 512 characters")
    if reference != reference.strip() or any(c.isspace() for c in reference):
        raise ImageRefused(f"{reference!r} is not an image reference: it contains spaces")
    if reference.lower().startswith("sha256:") or (
        "/" not in reference and ":" not in reference and "@" not in reference
        and _HEX.match(reference)  # the engine resolves ID prefixes of any length
    ):  # fmt: skip
        raise ImageRefused(
            f"{reference!r} looks like an image ID: name the image by its registry and "
            "repository (registry.example/course/grader:1)"
        )
    rest, digest = reference, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.match(digest):
            raise ImageRefused(f"{reference!r}: a digest is sha256: and 64 hex digits")
    first, slash, remainder = rest.partition("/")
    host = DOCKER_HUB
    if slash and _is_host(first):
        if not _HOST.match(first):
            raise ImageRefused(f"{reference!r}: {first!r} is not a registry host")
        host = first.lower()
        host = DOCKER_HUB if host in HUB_ALIASES else host
        rest = remainder
    tag = None
    path, colon, maybe_tag = rest.rpartition(":")
    if colon and "/" not in maybe_tag:
        rest, tag = path, maybe_tag
        if not _TAG.match(tag):
            raise ImageRefused(f"{reference!r}: {tag!r} is not a tag")
    components = rest.split("/")
    for component in components:
        if not _COMPONENT.match(component):
            lower = "; repository names are lower case" if component != component.lower() else ""
            raise ImageRefused(f"{reference!r}: {component!r} is not a repository name{lower}")
    if host == DOCKER_HUB and len(components) == 1:
        components = ["library", *components]
    if len(components) == 1 and _HEX.match(components[0]) and len(components[0]) == 64:
        raise ImageRefused(f"{reference!r} looks like an image ID")
    return Canonical(f"{host}/{'/'.join(components)}", tag, digest)


def canonical_prefix(prefix: str) -> str:
    """An operator's prefix in canonical spelling: `registry.example/uni-a/` (a namespace, every
    repository under it), `registry.example/uni-a/grader` (one repository, any tag),
    `registry.example/` (a whole registry), `pushgrade-test/` (on Docker Hub), or `*`.
    Raises `ValueError` for anything else."""
    if prefix == ANY:
        return ANY
    if not isinstance(prefix, str) or not prefix or len(prefix) > MAX_REFERENCE:
        raise ValueError("a prefix is a registry host and namespace (registry.example/course/)")
    if any(c.isspace() for c in prefix) or "@" in prefix:
        raise ValueError(f"{prefix!r}: a prefix has no spaces and no digest")
    whole = prefix.endswith("/")
    body = prefix.rstrip("/")
    first, _, remainder = body.partition("/")
    if _is_host(first):
        if not _HOST.match(first):
            raise ValueError(f"{prefix!r}: {first!r} is not a registry host")
        host = first.lower()
        host = DOCKER_HUB if host in HUB_ALIASES else host
        path = remainder
    else:
        host, path = DOCKER_HUB, body
    components = [c for c in path.split("/") if c] if path else []
    for component in components:
        if not _COMPONENT.match(component):
            raise ValueError(f"{prefix!r}: {component!r} is not a repository name (lower case)")
    if host == DOCKER_HUB and not components:
        raise ValueError(
            f"{prefix!r}: all of Docker Hub is not a namespace; name one (docker.io/library/)"
        )
    if host == DOCKER_HUB and len(components) == 1 and not whole:
        components = ["library", *components]  # `python` is docker.io/library/python
    name = "/".join([host, *components])
    return f"{name}/" if whole or not components else name


def under(name: str, prefix: str) -> bool:
    """Whether the canonical `name` (host/path) is covered by the canonical `prefix`."""
    if prefix == ANY:
        return True
    if prefix.endswith("/"):
        return name.startswith(prefix)
    return name == prefix


@dataclass(frozen=True)
class ImageVerdict:
    canonical: Canonical | None
    reason: str = ""  # why it is refused ("" when allowed)

    @property
    def allowed(self) -> bool:
        return self.canonical is not None and not self.reason


def judge_image(reference: str, prefixes: tuple[str, ...], *, who: str) -> ImageVerdict:
    """May `who` (a tenant's account) run `reference`, given the canonical prefixes the operator
    tied to it? The reason names the reference and what to do."""
    try:
        found = canonical(reference)
    except ImageRefused as err:
        return ImageVerdict(None, str(err))
    if any(found.name.startswith(reserved) for reserved in RESERVED):
        return ImageVerdict(
            found,
            f"{reference!r} is an image of pushgrade's own (built graders carry the org that "
            "built them); name a grader repository with grader: instead",
        )
    if not any(under(found.name, prefix) for prefix in prefixes):
        allowed = ", ".join(p for p in prefixes) or "none"
        return ImageVerdict(
            found,
            f"the image {reference!r} is not one this deployment lets {who} use: its operator "
            f"ties registries and namespaces to each org (allowed here: {allowed})",
        )
    return ImageVerdict(found)


# -- Dockerfiles -----------------------------------------------------------------------------------

_FROM = re.compile(r"^\s*FROM\s+(.*)$", re.IGNORECASE)
_ARG = re.compile(r"^\s*ARG\s+(.*)$", re.IGNORECASE)
_COPY = re.compile(r"^\s*(?:COPY|ADD)\s+(.*)$", re.IGNORECASE)
_RUN_MOUNT_FROM = re.compile(r"--mount=\S*from=([^,\s]+)", re.IGNORECASE)
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}?")


class DockerfileRefused(ValueError):
    """A Dockerfile that names an image its tenant may not use, or one that cannot be told."""


_DIRECTIVE = re.compile(r"^#\s*([A-Za-z]+)\s*=\s*(.*?)\s*$")


def _logical_lines(text: str) -> list[str]:
    """Instructions as Docker's parser reads them: parser directives (`# escape=``, among the
    others at the very top) honoured; a line ending in the escape character (and blanks) joined
    to the next with nothing between; blank lines and comments inside a continuation skipped. A
    line ending in an escaped escape is refused: parsers have read it both ways."""
    escape = "\\"
    lines, current, in_directives = [], None, True
    for raw in text.splitlines():
        if in_directives:
            directive = _DIRECTIVE.match(raw.strip())
            if directive and raw.lstrip().startswith("#"):
                if directive.group(1).lower() == "escape" and directive.group(2) in ("`", "\\"):
                    escape = directive.group(2)
                continue
            in_directives = False
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # also inside a continuation, as Docker skips them there
        body = raw.rstrip()
        if body.endswith(escape * 2):
            raise DockerfileRefused(
                f"{stripped[:120]!r} ends in an escaped escape character, which parsers read "
                "differently: end the line otherwise"
            )
        part = body[: -len(escape)] if body.endswith(escape) else body
        current = part if current is None else current + part
        if not body.endswith(escape):
            lines.append(current)
            current = None
    if current is not None and current.strip():
        lines.append(current)
    return lines


def onbuild_images(triggers: list[str]) -> list[str]:
    """The images a base image's ONBUILD triggers would take (`COPY --from=…`): they run in the
    build that starts from it, so they obey the same rule as the Dockerfile's own lines."""
    return dockerfile_images("FROM scratch\n" + "\n".join(t.replace("\n", " ") for t in triggers))


def dockerfile_images(text: str) -> list[str]:
    """Every image a Dockerfile would take from the engine or a registry: each `FROM` that is
    not an earlier stage or `scratch`, each `COPY --from=`/`ADD --from=` and `RUN
    --mount=…,from=` naming an image. Variables in them are replaced by the defaults of the
    `ARG`s before the first `FROM` (no build arguments are passed); one that cannot be
    resolved is refused (`DockerfileRefused`), as it could name anything."""
    args: dict[str, str] = {}
    stages: set[str] = set()
    images: list[str] = []
    seen_from = False

    def expand(value: str, line: str) -> str:
        def one(match: re.Match) -> str:
            name = match.group(1)
            if name not in args:
                raise DockerfileRefused(
                    f"{line.strip()[:120]!r}: ${name} has no default before the first FROM, so "
                    "the image it names cannot be checked; write the image's name"
                )
            return args[name]

        return _VARIABLE.sub(one, value)

    for line in _logical_lines(text):
        if not seen_from and (arg := _ARG.match(line)):
            for item in arg.group(1).split():
                name, eq, default = item.partition("=")
                if eq:
                    args[name] = default.strip("\"'")
            continue
        if found := _FROM.match(line):
            seen_from = True
            words = [w for w in found.group(1).split() if not w.startswith("--")]
            if not words:
                raise DockerfileRefused(f"{line.strip()[:120]!r}: FROM names no image")
            image = expand(words[0], line)
            if len(words) >= 3 and words[1].lower() == "as":
                stages.add(words[2].lower())
            if image.lower() == "scratch" or image.lower() in stages - {_stage(words)}:
                continue
            images.append(image)
            continue
        for source in _sources(line):
            source = expand(source, line)
            if source.isdigit() or source.lower() in stages:
                continue  # an earlier stage, by number or name
            images.append(source)
    return images


def _stage(words: list[str]) -> str:
    return words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else ""


def _sources(line: str) -> list[str]:
    found = []
    if copy := _COPY.match(line):
        for word in copy.group(1).split():
            if word.lower().startswith("--from="):
                found.append(word.split("=", 1)[1].strip("\"'"))
    found += [m.strip("\"'") for m in _RUN_MOUNT_FROM.findall(line)]
    return found
