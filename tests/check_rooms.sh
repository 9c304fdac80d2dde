#!/bin/sh
# Fails if a room includes a room above it. Rooms stack bottom to top:
#   transport < actors < dm < runtime < benchmarks < apps
# (tests/ and examples/ may include anything). An include is named by its
# room, "actors/node_actor.hpp" or <meshrt/actors/node_actor.hpp>.
# Usage: check_rooms.sh SOURCE_DIR
cd "$1" || exit 2
rooms="transport actors dm runtime benchmarks apps"
bad=""
above="$rooms"
for room in $rooms; do
  above=${above#"$room"}
  above=${above# }
  [ -n "$above" ] || break
  pattern=$(echo "$above" | tr ' ' '|')
  found=$(find "$room" -name '*.hpp' -o -name '*.cpp' | sort | xargs -r grep -n -E \
    "^[[:space:]]*#[[:space:]]*include[[:space:]]*[\"<](meshrt/)?($pattern)/" /dev/null)
  [ -n "$found" ] && bad="$bad$found
"
done
if [ -n "$bad" ]; then
  echo "includes that run up the rooms ($(echo "$rooms" | sed 's/ / < /g')):"
  printf '%s' "$bad"
  exit 1
fi
echo "every room includes only the rooms below it ($(echo "$rooms" | sed 's/ / < /g'))"
