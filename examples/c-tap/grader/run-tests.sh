#!/bin/sh
# The TAP harness. Compiles the student's C files (the .c files at the top of /submission) with
# each hidden test in /grader/tests, runs every test as a program of its own, and prints TAP on
# stdout, which pushgrade reads: "1..N", then "ok K - name" or "not ok K - name" with the details
# in an indented YAML block. Test 1 is the compilation, so a compile error is a failing test
# with the compiler's message, and every other test fails as "not run".
#
# It runs as user nobody on a read-only root: everything it makes goes to /tmp.
set -u

tests=/grader/tests
limit=5                                    # seconds per test program
work=$(mktemp -d) || exit 1
cflags="-std=c11 -Wall -Wextra -O1 -I/grader -I$tests"

# The "/* test: NAME */" first line of a test file, or else its file name.
name_of() {
  sed -n '1s|^/\* *test: *\(.*[^ ]\) *\*/ *$|\1|p' "$1" | grep . || basename "$1" .c
}

# An indented YAML block under the last TAP line: a message, then at most 30 lines of output.
# Indented lines cannot pass for TAP lines, whatever the student's program printed.
details() {
  echo "  ---"
  echo "  message: \"$1\""
  if [ -s "$2" ]; then
    echo "  output: |-"
    head -n 30 "$2" | cut -c 1-300 | sed 's/^/    /'
  fi
  echo "  ..."
}

# Stop whatever the student's code left running (a background process could otherwise write
# into /results, or print TAP lines, after its test). Only as PID 1, the container's first
# process: kill -1 there reaches every other process of this user, and nothing outside.
stop_leftovers() {
  [ $$ -eq 1 ] && kill -KILL -1 2>/dev/null
  return 0
}

set -- "$tests"/[0-9]*.c
echo "1..$(($# + 1))"

# 1: compile the student's files, each on its own. A main() of theirs (for their own testing) is
# renamed, so that it does not clash with the tests' main().
mkdir "$work/obj"
compiled=yes
found=no
: >"$work/compile.log"
for source in /submission/*.c; do
  [ -f "$source" ] || continue
  found=yes
  object="$work/obj/$(basename "$source" .c).o"
  timeout 60 gcc $cflags -Dmain=student_main -c "$source" -o "$object" >>"$work/compile.log" 2>&1 \
    || compiled=no
done
if [ "$found" = no ]; then
  compiled=no
  echo "not ok 1 - compiles"
  details "no .c file at the top of the submission (expected text.c)" /dev/null
elif [ "$compiled" = no ]; then
  echo "not ok 1 - compiles"
  details "the submission does not compile" "$work/compile.log"
else
  echo "ok 1 - compiles"
  [ -s "$work/compile.log" ] && details "compiled with warnings" "$work/compile.log"
fi

# 2..N: one program per test: the test's main() linked with the student's code.
number=1
for test in "$@"; do
  number=$((number + 1))
  name=$(name_of "$test")
  if [ "$compiled" = no ]; then
    echo "not ok $number - $name"
    details "not run: the submission did not compile" /dev/null
    continue
  fi
  program="$work/test$number"
  if ! timeout 60 gcc $cflags "$test" "$work"/obj/*.o -o "$program" >"$work/build.log" 2>&1; then
    echo "not ok $number - $name"
    details "the test could not be built with the submission (a missing function?)" "$work/build.log"
    continue
  fi
  (cd "$work" && timeout -k 1 "$limit" "$program" </dev/null >"$work/run.log" 2>&1)
  status=$?
  stop_leftovers
  if [ "$status" -eq 0 ]; then
    echo "ok $number - $name"
  else
    echo "not ok $number - $name"
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
      message="stopped: it took longer than $limit s (or ran out of memory)"
    elif [ "$status" -gt 128 ]; then
      message="crashed with signal SIG$(kill -l $((status - 128)))"
    else
      message="a check failed"
    fi
    details "$message" "$work/run.log"
  fi
done

# Nothing but this TAP counts: pushgrade would take a results.json or a JUnit file under
# /results over it, and the student's code could have written one there.
stop_leftovers
chmod -R u+rwX /results 2>/dev/null
rm -rf /results/* /results/.[!.]* /results/..?* 2>/dev/null
rm -rf "$work"
exit 0
