/*
 * The bare-metal test: wick on an emulated Cortex-M (tests/firmware/qemu.sh
 * runs it under qemu-system-arm). It checks the handshakes
 * (fw_handshake.c) and both roles of the engine (fw_engine.c) against
 * values written from the RFCs, prints "N passed, N failed", and reports
 * the stack high-water mark (the stack is painted at reset, startup.c) and
 * the RAM a minimal client and server connection need.
 */
#include <stddef.h>

#include "board.h"
#include "fw.h"
#include "wick.h"

static void report_ram(void)
{
    size_t base = sizeof(wick_conn) + WICK_OUT_MIN + WICK_RECV_MIN;
    board_puts("RAM per connection (minimal): wick_conn ");
    fw_put_uint(sizeof(wick_conn));
    board_puts(" + output WICK_OUT_MIN ");
    fw_put_uint(WICK_OUT_MIN);
    board_puts(" + receive WICK_RECV_MIN ");
    fw_put_uint(WICK_RECV_MIN);
    board_puts(" = ");
    fw_put_uint(base);
    board_puts(" bytes (client, or server with streamed delivery); this test's server adds a ");
    fw_put_uint(fw_engine_msg_cap());
    board_puts("-byte reassembly buffer.\nDuring the handshake only: wick_hs_request ");
    fw_put_uint(sizeof(wick_hs_request));
    board_puts(", wick_hs_client ");
    fw_put_uint(sizeof(wick_hs_client));
    board_puts(" bytes (reusable once the connection is open).\n");
}

int main(void)
{
    board_puts("wick bare-metal test on ");
    board_puts(board_cpu());
    board_puts("\n");
    size_t hs_base = 0, engine_base = 0;
    board_stack_mark();
    fw_test_handshakes(&hs_base);
    size_t hs_stack = board_stack_used();
    board_stack_mark();
    fw_test_engine(&engine_base);
    fw_test_inflate(&engine_base);
    size_t engine_stack = board_stack_used();
    report_ram();
    if (board_stack_size() != 0) {
        board_puts("stack high-water mark (of ");
        fw_put_uint(board_stack_size());
        board_puts("): handshake ");
        fw_put_uint(hs_stack);
        board_puts(" bytes, of which ");
        fw_put_uint(hs_stack - hs_base);
        board_puts(" below the wick call; engine ");
        fw_put_uint(engine_stack);
        board_puts(" bytes, of which ");
        fw_put_uint(engine_stack - engine_base);
        board_puts(" below wick_conn_recv() (wick and this test's callbacks)\n");
    }
    fw_put_uint((size_t)fw_passed());
    board_puts(" passed, ");
    fw_put_uint((size_t)fw_failed());
    board_puts(" failed\n");
    return fw_failed() == 0 && fw_passed() > 0 ? 0 : 1;
}
