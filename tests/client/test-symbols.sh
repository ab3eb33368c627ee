#!/bin/sh
# The ABI of libdevaddr: the dynamic symbols the built library exports are
# exactly those listed in client/libdevaddr.map (no extra, none missing),
# every one of them is declared in an installed header, every public
# function declared there is in the map, and each has a gtk-doc comment,
# as has every macro, type and enum value of the installed headers.
set -u
srcdir=${DA_SRCDIR:-.}
builddir=${DA_BUILDDIR:-.}
map="$srcdir/client/libdevaddr.map"
lib="$builddir/client/.libs/libdevaddr.so"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/devaddr-symbols.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
status=0

if [ ! -f "$lib" ]; then
  echo "no $lib (built without shared libraries?)"
  exit 77
fi
if ! command -v nm >/dev/null 2>&1; then
  echo "nm is not installed"
  exit 77
fi

# what the version script lists
sed -n 's/^[[:space:]]*\(devaddr_[a-z0-9_]*\);[[:space:]]*$/\1/p' "$map" | sort > "$tmp/map"
# what the library exports: defined dynamic symbols, version suffix cut,
# the version node itself (an absolute symbol) left out
nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort > "$tmp/exported"
# what the installed headers declare
sed -n 's/.*\b\(devaddr_[a-z0-9_]*\) (.*/\1/p' "$srcdir"/client/devaddr/*.h | sort -u > "$tmp/declared"
# G_DECLARE_FINAL_TYPE declares the client's get_type
echo devaddr_client_get_type >> "$tmp/declared"
sort -u -o "$tmp/declared" "$tmp/declared"

compare() {
  what=$1; a=$2; b=$3
  if ! diff -u "$a" "$b" > "$tmp/diff"; then
    echo "FAIL: $what"
    sed -n 's/^-\([^-]\)/  only in the first:  \1/p; s/^+\([^+]\)/  only in the second: \1/p' "$tmp/diff"
    status=1
  else
    echo "ok: $what ($(wc -l < "$a") symbols)"
  fi
}

compare "exported symbols (first: libdevaddr.map, second: the .so)" "$tmp/map" "$tmp/exported"
compare "declared symbols (first: libdevaddr.map, second: the headers)" "$tmp/map" "$tmp/declared"

undocumented=0
while read -r sym; do
  if ! grep -q "^ \* $sym:" "$srcdir"/client/*.c "$srcdir"/client/devaddr/*.h; then
    echo "FAIL: $sym has no gtk-doc comment"
    undocumented=$((undocumented + 1))
  fi
done < "$tmp/map"
if [ "$undocumented" -eq 0 ]; then
  echo "ok: every exported symbol is documented"
else
  status=1
fi

# every public name of the installed headers has a gtk-doc block of its
# own: macros, types (structs, enums, the GObject), enum values, functions
headers=$(ls "$srcdir"/client/devaddr/*.h)
# shellcheck disable=SC2086
{
  # macros, but not the umbrella header's inclusion marker
  sed -n 's/^#define \([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' $headers | grep -v '^__' | sort -u > "$tmp/macros"
  # "typedef struct _X X;", "} X;" closing a typedef, G_DECLARE_*_TYPE (X, ...)
  {
    sed -n 's/^typedef [^;]*[ *]\([A-Za-z_][A-Za-z0-9_]*\);$/\1/p' $headers
    sed -n 's/^} \([A-Za-z_][A-Za-z0-9_]*\);$/\1/p' $headers
    sed -n 's/^G_DECLARE_[A-Z_]*TYPE (\([A-Za-z_][A-Za-z0-9_]*\),.*/\1/p' $headers
  } | sort -u > "$tmp/types"
  # the values of each typedef enum, up to a /*< private >*/ marker
  awk '/^typedef enum/ { inside = 1; public = 1; next }
       inside && /<[ ]*private[ ]*>/ { public = 0; next }
       inside && /^}/ { inside = 0; next }
       inside && public && match($0, /^[ \t]+[A-Za-z_][A-Za-z0-9_]*/) {
         v = substr($0, RSTART, RLENGTH); gsub(/[ \t]/, "", v); print v
       }' $headers | sort -u > "$tmp/values"
}
missing=0
for kind in macros types declared; do
  while read -r name; do
    if ! grep -q "^ \* $name:" "$srcdir"/client/*.c $headers; then
      echo "FAIL: $name ($kind) has no gtk-doc comment"
      missing=$((missing + 1))
    fi
  done < "$tmp/$kind"
done
while read -r value; do
  if ! grep -q "^ \* @$value:" $headers; then
    echo "FAIL: enum value $value is not described in its type's gtk-doc comment"
    missing=$((missing + 1))
  fi
done < "$tmp/values"
if [ "$missing" -eq 0 ] && [ -s "$tmp/macros" ] && [ -s "$tmp/types" ] && [ -s "$tmp/values" ]; then
  echo "ok: every public name of the headers is documented ($(wc -l < "$tmp/macros") macros," \
    "$(wc -l < "$tmp/types") types, $(wc -l < "$tmp/values") enum values, $(wc -l < "$tmp/declared") functions)"
else
  [ "$missing" -gt 0 ] || echo "FAIL: found no macros, types or enum values in the headers"
  status=1
fi

# nothing but devaddr_ leaks, whatever the map says
others=$(grep -v '^devaddr_' "$tmp/exported" || true)
if [ -n "$others" ]; then
  echo "FAIL: exported symbols without the devaddr_ prefix: $others"
  status=1
fi
exit $status
