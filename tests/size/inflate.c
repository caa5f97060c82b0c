/* "inflate": wick's own inflater alone (issue 16: at most 4 KiB of text
 * on Cortex-M0+ -Os), as a decompress-only firmware links it under
 * permessage-deflate (wick_pmd_wick.c adds a few calls around it).
 * tests/size/size.sh links it with --gc-sections and also reports
 * sizeof(wick__inflater) from size_inflater_state. Never run. */
#include "wick_inflate.h"

wick__inflater size_inflater_state; /* its size, for nm -S */
static uint8_t window[512];
static uint8_t in_buf[256];
static uint8_t out_buf[256];
volatile size_t size_len; /* keeps lengths unknown to the compiler */

int main(void)
{
    wick__inflate_init(&size_inflater_state, window, 9);
    size_t in_len = size_len;
    size_t out_len = size_len;
    int r = (int)wick__inflate(&size_inflater_state, in_buf, &in_len, out_buf, &out_len);
    r += wick__inflate_boundary(&size_inflater_state);
    wick__inflate_reset(&size_inflater_state);
    return r + (int)in_len + (int)out_len;
}
