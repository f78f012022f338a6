#!/usr/bin/env bash
# The install step of action.yml: a released binary checked against its sha256 when INPUT_VERSION
# names a release, else a build from the action's own source with the `github` and `online` features.
set -euo pipefail

dest="${RUNNER_TEMP:-/tmp}/connref-bin"
mkdir -p "$dest"
version="${INPUT_VERSION:-}"

if [[ -n "$version" && "$version" != source ]]; then
  if [[ ! "$version" =~ ^v?[0-9]+\.[0-9]+\.[0-9]+([-.][0-9A-Za-z.]+)?$ ]]; then
    echo "::error title=connref::the version input must be a release such as 0.2.0, not '${version//[$'\r\n']/ }'"
    exit 2
  fi
  version="${version#v}"
  case "${RUNNER_OS:-Linux}-${RUNNER_ARCH:-X64}" in
    Linux-X64) target=x86_64-unknown-linux-gnu ;;
    Linux-ARM64) target=aarch64-unknown-linux-gnu ;;
    macOS-X64) target=x86_64-apple-darwin ;;
    macOS-ARM64) target=aarch64-apple-darwin ;;
    Windows-X64) target=x86_64-pc-windows-msvc ;;
    *)
      echo "::error title=connref::no release binary for ${RUNNER_OS:-?}-${RUNNER_ARCH:-?}; leave the version input empty to build from source"
      exit 2
      ;;
  esac
  repo="${CONNREF_RELEASE_REPO:-${GITHUB_ACTION_REPOSITORY:-}}"
  base="${GITHUB_SERVER_URL:-https://github.com}/$repo/releases/download/v$version"
  asset="connref-$version-$target.tar.gz"
  tmp="$(mktemp -d)"
  curl --fail --silent --show-error --location --retry 3 -o "$tmp/$asset" "$base/$asset"
  curl --fail --silent --show-error --location --retry 3 -o "$tmp/$asset.sha256" "$base/$asset.sha256"
  expected="$(cut -d' ' -f1 <"$tmp/$asset.sha256")"
  actual="$( (sha256sum "$tmp/$asset" 2>/dev/null || shasum -a 256 "$tmp/$asset") | cut -d' ' -f1)"
  if [[ -z "$expected" || "$expected" != "$actual" ]]; then
    echo "::error title=connref::sha256 mismatch for $asset (expected $expected, got $actual)"
    exit 1
  fi
  tar -xzf "$tmp/$asset" -C "$dest"
else
  cargo install --locked --features github,online --path "$GITHUB_ACTION_PATH" --root "$dest" --quiet
  dest="$dest/bin"
fi

echo "$dest" >>"$GITHUB_PATH"
