/* Compiles the public header as strict C99 (what jextract/libclang sees). */
#include "streamfusion.h"

int sf_header_check_sizes(void) {
    return (int)(sizeof(sf_view) + sizeof(sf_state) + sizeof(sf_q_chunk) + sizeof(sf_kv_chunk));
}
