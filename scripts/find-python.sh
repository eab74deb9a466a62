#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter (Rasa 3.6 needs 3.8-3.10; we pin 3.10):
# $PYTHON if set, then python3.10 on PATH, then pyenv's installed 3.10.x versions.
set -u
ok() { "$1" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; }
candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
command -v python3.10 >/dev/null 2>&1 && candidates+=("$(command -v python3.10)")
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root 2>/dev/null)
  for dir in $(ls -d "$root"/versions/3.10* 2>/dev/null | sort -rV); do
    candidates+=("$dir/bin/python3.10")
  done
fi
for dir in $(ls -d "$HOME"/.pyenv/versions/3.10* 2>/dev/null | sort -rV); do
  candidates+=("$dir/bin/python3.10")
done
for python in "${candidates[@]}"; do
  if ok "$python"; then echo "$python"; exit 0; fi
done
cat >&2 <<'MSG'
error: no Python 3.10 interpreter found (Rasa 3.6 needs Python 3.8-3.10).
Looked at $PYTHON, python3.10 on PATH, and pyenv's versions/3.10*.
Install one, for example:  pyenv install 3.10.13   or   apt-get install python3.10 python3.10-venv
or point PYTHON at it:     make run PYTHON=/path/to/python3.10
MSG
exit 1
