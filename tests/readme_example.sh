#!/bin/sh
# Compiles and runs the C example of README.md against the built library, so
# the README can never show code that does not work.
set -eu
readme="$1"; libdir="$2"; incdir="$3"; sanitize="${4:-none}"; work=$(mktemp -d)
extra=""
[ "$sanitize" = none ] || extra="-fsanitize=$sanitize"
trap 'rm -rf "$work"' EXIT
awk '/^```c$/{on=1;next} /^```$/{if(on){exit}} on{print}' "$readme" > "$work/example.c"
test -s "$work/example.c" || { echo "no C example in README"; exit 1; }
cc -std=c11 -Wall -Wextra -Werror $extra -I"$incdir" "$work/example.c" "$libdir/libfleetres.a" \
   $(pkg-config --libs sqlite3 libcjson) -lm -lpthread -o "$work/example"
cd "$work" && ./example
