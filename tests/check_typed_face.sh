#!/bin/sh
# The public face is checked by the compiler: a node query with a handler of
# the wrong type must not compile, and must fail with the reply's message.
# Usage: check_typed_face.sh CXX SOURCE_DIR BUILD_DIR
out=$("$1" -std=c++17 -fsyntax-only -I"$2" -I"$3/include" "$2/tests/runtime/typed_face_rejects.cpp" 2>&1)
if [ $? -eq 0 ]; then
  echo "a handler of the wrong type compiled: the typed face checks nothing"
  exit 1
fi
if ! echo "$out" | grep -q "on_value must take this reply's type"; then
  echo "the compiler refused the file, but not for the handler's type:"
  echo "$out" | head -20
  exit 1
fi
echo "a handler of the wrong type is a compile error: on_value must take this reply's type"
