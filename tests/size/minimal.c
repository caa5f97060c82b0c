/* "minimal engine": a firmware program that speaks WebSocket over a
 * connection someone else opened (no handshake code), using only the
 * engine's core calls. tests/size/size.sh links it with --gc-sections and
 * counts what it pulls in from the library. Never run. */
#include "wick.h"

static uint8_t out_buf[512];
static uint8_t in_buf[256];
static wick_conn conn;
static wick_callbacks cbs; /* all NULL: the engine's code is linked anyway */
volatile size_t size_len;  /* keeps lengths unknown to the compiler */

int main(void)
{
    wick_conn_config cfg;
    wick_conn_config_default(&cfg, WICK_ROLE_SERVER);
    cfg.out_buf = out_buf;
    cfg.out_cap = sizeof out_buf;
    unsigned r = (unsigned)wick_conn_init(&conn, &cfg, &cbs, NULL);
    size_t used = 0;
    r += (unsigned)wick_conn_recv(&conn, in_buf, size_len, &used);
    r += (unsigned)wick_conn_send(&conn, WICK_OP_TEXT, in_buf, size_len, true);
    r += (unsigned)wick_conn_ping(&conn, in_buf, size_len);
    r += (unsigned)wick_conn_close(&conn, WICK_CLOSE_NORMAL, NULL, 0);
    size_t n = 0;
    const uint8_t *p = wick_conn_out_peek(&conn, &n);
    wick_conn_out_consume(&conn, n);
    r += wick_conn_state(&conn);
    return (int)(r + (unsigned)used + (p != NULL));
}
