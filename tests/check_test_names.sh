#!/bin/sh
# Fails if a doctest case name holds ';'. doctest_discover_tests cuts such a
# name in two (a CMake list), and ctest then runs two filters that match no
# test case: both "pass" without running anything.
# Usage: check_test_names.sh MESHRT_TESTS_BINARY
bad=$("$1" --list-test-cases --no-version | grep ';')
if [ -n "$bad" ]; then
  echo "test case names with ';' (ctest would skip them unseen; use ',' instead):"
  echo "$bad"
  exit 1
fi
echo "every test case name is runnable by ctest"
