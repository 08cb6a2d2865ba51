#!/usr/bin/env bash
# Checks README.md and docs/ against the repository: every relative link and every cited repository path
# exists, every cited type name is declared in the sources (or is a known outside name), and no page
# points at a machine path or cites an issue number. Prints each failure; exits 1 if there is one.
set -uo pipefail
cd "$(dirname "$0")/.."
pages=(README.md $(git ls-files 'docs/*.md' 'docs/**/*.md'; git ls-files --others --exclude-standard 'docs/*.md' 'docs/**/*.md'))
files=$(git ls-files; git ls-files --others --exclude-standard)
types=$(git ls-files '*.java' | xargs grep -hoE '\b(class|interface|record|enum)[[:space:]]+[A-Z][A-Za-z0-9]*' \
        | awk '{print $2}'; git ls-files 'csrc/*' | xargs grep -hoE '\b(struct|class)[[:space:]]+[A-Z][A-Za-z0-9_]*' \
        | awk '{print $2}' | sort -u)
# Names from outside the repository that pages may cite: the JDK, JUnit, JMH, CUDA, NCCL, NVSHMEM, PyTorch.
outside='Boolean Integer Long IllegalCallerException Arena MemorySegment SymbolLookup Runtime System IllegalStateException IllegalArgumentException
NullPointerException RuntimeException SplittableRandom InterruptedException MessageDigest SecureRandom Integer Long Float Math Thread Main AutoCloseable ParameterizedTest
GLOBAL TensorMap SDPA FLASH CUDNN Inf NaN OK'
fail=0
report() { echo "$1"; fail=1; }
for page in "${pages[@]}"; do
  dir=$(dirname "$page")
  # Relative links: [text](target) not starting with a scheme or an anchor.
  while IFS= read -r target; do
    target=${target%%#*}
    [ -z "$target" ] && continue
    [ -e "$dir/$target" ] || report "$page: link to a missing file: $target"
  done < <(grep -oE '\]\([^)#][^)]*\)' "$page" | sed -E 's/^\]\((.*)\)$/\1/' | grep -vE '^[a-z]+:')
  # Repository paths in backticks: a first segment that is a top-level entry of the repository.
  while IFS= read -r path; do
    path=${path%%[:,]*}
    case "$path" in */) path=${path%/};; esac
    grep -qxF "$path" <<<"$files" || grep -q "^$path/" <<<"$files" \
      || report "$page: cites a path that is not in the repository: $path"
  done < <(grep -oE '(^|[^A-Za-z0-9_./-])(docs|csrc|bindings|streamfusion-[a-z]+|examples|\.ci)/[A-Za-z0-9_./-]*' "$page" \
           | sed -E 's/^[^a-z.]//; s/[.]+$//' | grep -v '/target/' | sort -u)
  # Type names in backticks: a capitalised identifier, alone or before .member / (args).
  while IFS= read -r name; do
    grep -qxF "$name" <<<"$types" || [[ " $(echo $outside) " == *" $name "* ]] \
      || report "$page: cites a type that no source declares: $name"
  done < <(grep -oE '`[A-Z][a-z][A-Za-z0-9]+[`.(]' "$page" | sed -E 's/^`//; s/[`.(]$//' | sort -u)
  grep -nE '(^|[^A-Za-z0-9_.{])/(tmp|work)(/|\b)' "$page" | sed "s|^|$page: machine path: |" | grep . && fail=1
  grep -nE '[Ii]ssues? #?[0-9]+' "$page" | sed "s|^|$page: issue number: |" | grep . && fail=1
done
exit $fail
