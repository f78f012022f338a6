#!/usr/bin/env bash
# The run step of action.yml: check (annotations, step summary, outputs), then the pull-request
# comment; or verify (before an import) or audit (after it) of one target environment. Inputs arrive only as INPUT_* environment variables, never as ${{ }} expressions, so no
# input can inject shell code. CONNREF names the binary (tests point it at a build).
set -uo pipefail

bin="${CONNREF:-connref}"
path="${INPUT_PATH:-.}"
format="${INPUT_FORMAT:-github}"
command="${INPUT_COMMAND:-check}"
environment="${INPUT_ENVIRONMENT:-}"

case "$command" in
  check | verify | audit) ;;
  *)
    echo "::error title=connref::the command input must be check, verify or audit, not '${command//[$'\r\n']/ }'"
    exit 2
    ;;
esac
if [[ "$command" != check && -z "$environment" ]]; then
  echo "::error title=connref::the $command command needs the environment input (a [environments.<name>] table of connref.toml)"
  exit 2
fi

case "$format" in
  human | github | json | sarif) ;;
  *)
    echo "::error title=connref::the format input must be human, github, json or sarif, not '${format//[$'\r\n']/ }'"
    exit 2
    ;;
esac

common=()
if [[ -n "${INPUT_CONFIG:-}" ]]; then common+=(--config "$INPUT_CONFIG"); fi

case "$command" in
  check)
    if [[ -n "${INPUT_BASE:-}" ]]; then common+=(--base "$INPUT_BASE"); fi
    args=(check "$path" ${common[@]+"${common[@]}"} --format "$format")
    ;;
  verify)
    args=(verify "$path" --env "$environment" ${common[@]+"${common[@]}"} --format "$format")
    if [[ -n "${INPUT_SETTINGS:-}" ]]; then args+=(--settings "$INPUT_SETTINGS"); fi
    ;;
  audit)
    args=(audit --env "$environment" ${common[@]+"${common[@]}"} --format "$format")
    ;;
esac

if [[ "$format" == sarif ]]; then
  sarif="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/connref.sarif"
  "$bin" "${args[@]}" >"$sarif"
  status=$?
  if [[ -n "${GITHUB_OUTPUT:-}" ]]; then echo "sarif=$sarif" >>"$GITHUB_OUTPUT"; fi
else
  "$bin" "${args[@]}"
  status=$?
fi

if [[ "$command" == check && "${INPUT_COMMENT:-true}" == true ]]; then
  case "${GITHUB_EVENT_NAME:-}" in
    pull_request | pull_request_target | workflow_run)
      # The comment never decides the job: check's exit status does.
      if ! "$bin" comment "$path" ${common[@]+"${common[@]}"}; then
        echo "::warning title=connref::could not post the pull-request comment (see the log above)"
      fi
      ;;
    *) echo "connref: '${GITHUB_EVENT_NAME:-none}' is not a pull-request event: no comment" ;;
  esac
fi

exit "$status"
