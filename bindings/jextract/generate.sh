#!/bin/sh
# Regenerates bindings/src/main/java/org/streamfusion/bindings/** from the wrapper headers and argfiles
# in this folder. It runs jextract; it does not build it. Every path is an input (see ../README.md).
#   JEXTRACT         jextract launcher            (default: jextract on the PATH)
#   CUDA_INCLUDE     CUDA 13 include dir          (default: /usr/local/cuda/include)
#   NCCL_INCLUDE     nvidia-nccl-cu13 2.30.7      (default: /tmp/nccl/nvidia/nccl/include)
#   NVSHMEM_INCLUDE  nvidia-nvshmem-cu13 3.4.5    (default: /tmp/nvshmem/nvidia/nvshmem/include)
#   SF_HEADER        project C ABI                (default: ../../csrc/include/streamfusion.h)
#   (dlpack.h is DLPack 1.1, dmlc/dlpack include/dlpack/dlpack.h at 7f393bb, copied here whole)
# Usage: generate.sh [cudart] [nccl] [nvshmem] [sf] [dlpack]   (no argument: all five)
set -eu
cd "$(dirname "$0")"
JEXTRACT=${JEXTRACT:-jextract}
CUDA_INCLUDE=${CUDA_INCLUDE:-/usr/local/cuda/include}
NCCL_INCLUDE=${NCCL_INCLUDE:-/tmp/nccl/nvidia/nccl/include}
NVSHMEM_INCLUDE=${NVSHMEM_INCLUDE:-/tmp/nvshmem/nvidia/nvshmem/include}
SF_HEADER=${SF_HEADER:-../../csrc/include/streamfusion.h}
OUT=../src/main/java
PKG=org.streamfusion.bindings
# Clang 14's builtin stdint.h otherwise shadows glibc's and leaves uint32_t undefined.
COMMON="-D__STDC_HOSTED__=0"

gen() { # name header-class header argfile include-dirs...
  name=$1 cls=$2 hdr=$3 args=$4; shift 4
  rm -rf "$OUT/org/streamfusion/bindings/$name"
  set -x
  "$JEXTRACT" $COMMON "$@" --output "$OUT" --target-package "$PKG.$name" --header-class-name "$cls" "@$args" "$hdr"
  { set +x; } 2>/dev/null
}

targets=${*:-cudart nccl nvshmem sf dlpack}
for t in $targets; do
  case $t in
    cudart)  gen cudart Cudart cudart.h cudart.args -I "$CUDA_INCLUDE" ;;
    nccl)    gen nccl Nccl nccl.h nccl.args -I "$CUDA_INCLUDE" -I "$NCCL_INCLUDE" ;;
    nvshmem) gen nvshmem Nvshmem nvshmem.h nvshmem.args -I "$CUDA_INCLUDE" -I "$NVSHMEM_INCLUDE" ;;
    dlpack)  gen dlpack Dlpack dlpack.h dlpack.args ;;
    sf)
      # The project's own ABI is bound whole: sf.args is every symbol that streamfusion.h itself
      # declares (not what it includes), re-derived here so the filter follows the header.
      set -x
      "$JEXTRACT" $COMMON --dump-includes sf.all.tmp "$SF_HEADER"
      { set +x; } 2>/dev/null
      { echo "# Derived by generate.sh from --dump-includes: every symbol declared in csrc/include/streamfusion.h."
        grep -E '# header: .*/streamfusion\.h$' sf.all.tmp | sed -E 's/[[:space:]]+#.*$//' | sort; } > sf.args
      rm -f sf.all.tmp
      gen sf Streamfusion "$SF_HEADER" sf.args ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
done
