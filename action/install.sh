#!/usr/bin/env bash
# The install step of action.yml: a release archive checked against its .sha256 when a release
# version is asked for (the version input, else the action's own ref when that is a release tag
# such as v0.3.0), else a build from the action's own source with the `github` and `online` features.
#
#   install.sh            installs, and appends the folder of the binary to $GITHUB_PATH
#   install.sh resolve    only writes `version=<x.y.z or source>` to $GITHUB_OUTPUT (the
#                         action's cargo cache step runs only for a source build)
#
# CONNREF_DOWNLOAD_BASE replaces the release download URL (…/releases/download/v<version>) for
# tests and mirrors.
set -euo pipefail

error() {
  echo "::error title=connref::$*"
}

# Sets `version` to the version to install (without its v) or `source`; exits 2 on an input that
# is not a release.
resolve() {
  version="${INPUT_VERSION:-}"
  local ref="${CONNREF_ACTION_REF:-${GITHUB_ACTION_REF:-}}"
  if [[ -z "$version" ]]; then
    # `uses: OWNER/connref@v0.3.0` installs the v0.3.0 release; a branch or a commit builds.
    if [[ "$ref" =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-.][0-9A-Za-z.]+)?$ ]]; then
      version="$ref"
    else
      version=source
    fi
  fi
  if [[ "$version" != source && ! "$version" =~ ^v?[0-9]+\.[0-9]+\.[0-9]+([-.][0-9A-Za-z.]+)?$ ]]; then
    error "the version input must be a release such as 0.2.0 (or source), not '${version//[$'\r\n']/ }'"
    exit 2
  fi
  version="${version#v}"
}

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

resolve
if [[ "${1:-}" == resolve ]]; then
  echo "version=$version" >>"${GITHUB_OUTPUT:-/dev/stdout}"
  exit 0
fi

dest="${RUNNER_TEMP:-/tmp}/connref-bin"
mkdir -p "$dest"

if [[ "$version" != source ]]; then
  case "${RUNNER_OS:-Linux}-${RUNNER_ARCH:-X64}" in
    Linux-X64) target=x86_64-unknown-linux-musl ;;
    Linux-ARM64) target=aarch64-unknown-linux-musl ;;
    macOS-X64) target=x86_64-apple-darwin ;;
    macOS-ARM64) target=aarch64-apple-darwin ;;
    Windows-X64) target=x86_64-pc-windows-msvc ;;
    *)
      error "no release binary for ${RUNNER_OS:-?}-${RUNNER_ARCH:-?}; set the version input to source to build from source"
      exit 2
      ;;
  esac
  case "$target" in
    *windows*) asset="connref-$version-$target.zip" ;;
    *) asset="connref-$version-$target.tar.gz" ;;
  esac
  repo="${CONNREF_RELEASE_REPO:-${CONNREF_ACTION_REPOSITORY:-${GITHUB_ACTION_REPOSITORY:-}}}"
  base="${CONNREF_DOWNLOAD_BASE:-${GITHUB_SERVER_URL:-https://github.com}/$repo/releases/download/v$version}"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  get() {
    curl --fail --silent --show-error --location --retry 3 --retry-connrefused -o "$tmp/$1" "$base/$1"
  }
  if ! get "$asset"; then
    error "cannot download $base/$asset: is $version a release of ${repo:-this action} with a binary for $target?"
    exit 1
  fi
  if ! get "$asset.sha256"; then
    error "cannot download $base/$asset.sha256: connref does not install a binary it cannot verify"
    exit 1
  fi
  expected="$(cut -d' ' -f1 <"$tmp/$asset.sha256")"
  actual="$(sha256 "$tmp/$asset")"
  if [[ ! "$expected" =~ ^[0-9a-f]{64}$ || "$expected" != "$actual" ]]; then
    error "sha256 mismatch for $asset (expected ${expected:0:64}, got $actual): the download is corrupt or was tampered with; nothing was installed"
    exit 1
  fi
  if [[ "$asset" == *.zip ]]; then
    unzip -q -o "$tmp/$asset" -d "$dest"
  else
    tar -xzf "$tmp/$asset" -C "$dest"
  fi
  echo "connref $version ($target) installed from $base/$asset, sha256 $actual"
else
  cargo install --locked --features github,online --path "$GITHUB_ACTION_PATH" --root "$dest" --quiet
  dest="$dest/bin"
fi

echo "$dest" >>"$GITHUB_PATH"
