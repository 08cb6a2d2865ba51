#!/bin/sh
# Runs the StreamFusion-J native-layer tests (CPU and @Tag("gpu")) on the bundled Java 25 runtime.
# Arguments are passed to the JUnit console launcher, e.g. --include-tag gpu, --details=verbose.
# Library overrides work as usual: STREAMFUSION_{CUDART,NCCL,NVSHMEM,STREAMFUSION}_PATH.
set -eu
HERE=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)

# NVLink multicast stays off: on a shared host it can take every GPU out of service.
export NCCL_NVLS_ENABLE=0 NVSHMEM_DISABLE_NVLS=1

# NVSHMEM often comes only as a Python wheel (nvidia-nvshmem-cu13): find it if not given.
if [ -z "${STREAMFUSION_NVSHMEM_PATH:-}" ] && command -v python3 >/dev/null 2>&1; then
  d=$(python3 -c 'import os, nvidia.nvshmem as m; print(os.path.join(list(m.__path__)[0], "lib"))' 2>/dev/null || true)
  if [ -n "$d" ] && [ -f "$d/libnvshmem_host.so.3" ]; then
    export STREAMFUSION_NVSHMEM_PATH="$d/libnvshmem_host.so.3"
    # its bootstrap/transport plugins are dlopen'ed by name from the same folder
    export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
fi

CP="$HERE/lib/streamfusion-native-tests.jar:$HERE/lib/streamfusion-native.jar:$HERE/lib/streamfusion-bindings.jar"
# shellcheck disable=SC2086
exec "$HERE/runtime/bin/java" --enable-native-access=ALL-UNNAMED --illegal-native-access=deny -Xss2m \
  ${STREAMFUSION_JAVA_OPTS:-} \
  -jar "$HERE/lib/junit-platform-console-standalone.jar" execute \
  --class-path "$CP" --scan-class-path "$HERE/lib/streamfusion-native-tests.jar" \
  --disable-banner --disable-ansi-colors --details=tree "$@"
