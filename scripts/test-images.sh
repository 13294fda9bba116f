#!/usr/bin/env bash
# Builds the images the tests and the bundled example run, offline: no registry is reachable, so
# every base is made here (busybox-static on scratch, or a Debian root filesystem from debootstrap)
# and tagged. An image that already exists under its tag is kept, so a second run costs seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

have() { docker image inspect "$1" >/dev/null 2>&1; }

# docker build, saying nothing unless it fails: the CLI's notice that the legacy builder is
# deprecated (no BuildKit on Debian's engine) would otherwise open every ./dev run.
quiet_build() {
  local out
  out=$(docker build -q -t "$1" "$2" 2>&1) || { echo "$out" >&2; return 1; }
}

# The Debian mirror the machine's apt already uses (the Debian entry, whatever else is listed).
debian_mirror() {
  local uri
  uri=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
        | grep -oE 'https?://[^ ]+/debian/?' | grep -v security | head -n1 || true)
  echo "${uri%/}"
}

busybox_base() {
  local tag=pushgrade-test/busybox:2
  have "$tag" && return 0
  local ctx; ctx=$(mktemp -d)
  cp "$(command -v busybox)" "$ctx/busybox"
  file "$ctx/busybox" 2>/dev/null | grep -q 'statically linked' || {
    echo "test-images: busybox must be the static build (apt-get install busybox-static)" >&2; exit 1; }
  cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /tmp /etc && chmod 1777 /tmp && echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd \
 && echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/sh' >> /etc/passwd \
 && echo 'root:x:0:' > /etc/group && echo 'nogroup:x:65534:' >> /etc/group
CMD ["/bin/sh"]
DOCKERFILE
  quiet_build "$tag" "$ctx"
  rm -rf "$ctx"
  echo "test-images: built $tag"
}

# Debian minbase with python3, pip and pytest: the shape of a real Python grader image. It also
# stands in for python:3.11-slim (when no real one is present), so example Dockerfiles keep their
# real FROM line; `pip install pytest` there finds pytest installed and needs no network.
python_base() {
  local tag=pushgrade-test/python:3.11
  have python:3.11-slim || { have "$tag" && docker tag "$tag" python:3.11-slim; }
  have "$tag" && return 0
  local mirror root; mirror=$(debian_mirror)
  [ -n "$mirror" ] || { echo "test-images: no Debian mirror in the apt sources" >&2; exit 1; }
  root=$(mktemp -d)
  debootstrap --variant=minbase --include=python3,python3-pytest,python3-pip,python-is-python3 bookworm "$root" "$mirror" >/tmp/pushgrade-debootstrap.log 2>&1 \
    || { tail -n 20 /tmp/pushgrade-debootstrap.log >&2; exit 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
  tar -C "$root" -c . | docker import -c 'CMD ["python3"]' -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$tag" >/dev/null
  have python:3.11-slim || docker tag "$tag" python:3.11-slim
  rm -rf "$root"
  echo "test-images: built $tag"
}

# Debian minbase with gcc 12 and the C library's headers: the shape of a C grader image. It stands
# in for gcc:12 (when no real one is present), so example Dockerfiles keep their real FROM line.
# Documentation, manuals and translations are dropped: nothing in a grader reads them.
gcc_base() {
  local tag=pushgrade-test/gcc:12
  have gcc:12 || { have "$tag" && docker tag "$tag" gcc:12; }
  have "$tag" && return 0
  local mirror root; mirror=$(debian_mirror)
  [ -n "$mirror" ] || { echo "test-images: no Debian mirror in the apt sources" >&2; exit 1; }
  root=$(mktemp -d)
  debootstrap --variant=minbase --include=gcc,libc6-dev bookworm "$root" "$mirror" >/tmp/pushgrade-debootstrap-gcc.log 2>&1 \
    || { tail -n 20 /tmp/pushgrade-debootstrap-gcc.log >&2; exit 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
    "$root"/usr/bin/*lto-dump*
  tar -C "$root" -c . | docker import -c 'CMD ["bash"]' -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$tag" >/dev/null
  have gcc:12 || docker tag "$tag" gcc:12
  rm -rf "$root"
  echo "test-images: built $tag"
}

# The images under tests/images/ and examples/, each a Dockerfile on one of the bases above.
derived() {
  local dir tag
  for dir in "$here"/tests/images/*/ "$here"/examples/*/grader/; do
    [ -f "$dir/Dockerfile" ] || continue
    tag=$(sed -n 's/^# tag: *//p' "$dir/Dockerfile" | head -n1)
    [ -n "$tag" ] || { echo "test-images: $dir/Dockerfile has no '# tag:' line" >&2; exit 1; }
    quiet_build "$tag" "$dir"
  done
}

busybox_base
python_base
gcc_base
derived
