#!/usr/bin/env bash
# Packs a built connref binary as the release asset that action/install.sh downloads:
#   connref-<version>-<target>.tar.gz (.zip for Windows targets), the binary at the top level,
#   and connref-<version>-<target>.tar.gz.sha256 holding "<sha256>  <asset name>".
# The release workflow runs it for each target; tests/release.rs runs it for this machine.
#
# usage: scripts/package.sh BINARY TARGET OUT_DIR
#   VERSION (env) overrides the version read from Cargo.toml.
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: scripts/package.sh BINARY TARGET OUT_DIR" >&2
  exit 2
fi
binary="$1"
target="$2"
out="$3"
root="$(cd "$(dirname "$0")/.." && pwd)"

if [[ ! -f "$binary" ]]; then
  echo "package.sh: no binary at $binary (build it first)" >&2
  exit 1
fi
if [[ ! "$target" =~ ^[a-z0-9_]+-[a-z0-9_]+-[a-z0-9_]+(-[a-z0-9_]+)?$ ]]; then
  echo "package.sh: '$target' is not a target triple" >&2
  exit 2
fi
# The [package] version: the first `version = "…"` line of Cargo.toml.
version="${VERSION:-$(sed -n 's/^version = "\([^"]*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)}"
if [[ -z "$version" ]]; then
  echo "package.sh: no version in $root/Cargo.toml" >&2
  exit 1
fi

mkdir -p "$out"
out="$(cd "$out" && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

case "$target" in
  *windows*)
    name="connref.exe"
    asset="connref-$version-$target.zip"
    ;;
  *)
    name="connref"
    asset="connref-$version-$target.tar.gz"
    ;;
esac
cp "$binary" "$stage/$name"
chmod 755 "$stage/$name"
rm -f "$out/$asset" "$out/$asset.sha256"

if [[ "$asset" == *.zip ]]; then
  # Python is on every runner; zip and 7z are not everywhere.
  py="$(command -v python3 || command -v python)"
  (cd "$stage" && "$py" -m zipfile -c "$out/$asset" "$name")
else
  # Owner and order fixed so that the archive does not carry the build machine's user names.
  tar -C "$stage" -cf - --owner=0 --group=0 "$name" 2>/dev/null | gzip -n >"$out/$asset" ||
    tar -C "$stage" -cf - "$name" | gzip -n >"$out/$asset"
fi

if command -v sha256sum >/dev/null; then
  sum="$(sha256sum "$out/$asset" | cut -d' ' -f1)"
else
  sum="$(shasum -a 256 "$out/$asset" | cut -d' ' -f1)"
fi
echo "$sum  $asset" >"$out/$asset.sha256"
echo "$out/$asset"
