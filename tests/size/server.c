/* "server": a firmware WebSocket server: the server handshake (parse,
 * accept or reject) and the engine in the server role, nothing else.
 * tests/size/size.sh links it with --gc-sections (firmware configuration,
 * WICK_NO_ERR_STRINGS) for the flash-per-feature table of
 * docs/embedded.md. Never run. */
#include "wick.h"

static uint8_t out_buf[WICK_OUT_MIN];
static uint8_t in_buf[WICK_RECV_MIN];
static char text[512];
static wick_hs_request req;
static wick_conn conn;
static wick_callbacks cbs; /* all NULL: the engine's code is linked anyway */
volatile size_t size_len;  /* keeps lengths unknown to the compiler */

int main(void)
{
    size_t n = size_len;
    size_t used = 0;
    unsigned r = 0;
    wick_hs_request_init(&req, NULL);
    wick_err e = wick_hs_server_parse(&req, text, n, &used);
    if (e == WICK_OK) {
        wick_hs_accept_opts opts = {{NULL, 0}, {NULL, 0}, NULL, 0};
        r += (unsigned)wick_hs_server_accept(&req, &opts, text, sizeof text, &used);
    } else {
        r += (unsigned)wick_hs_server_reject(e, text, sizeof text, &used);
    }
    wick_conn_config cfg;
    wick_conn_config_default(&cfg, WICK_ROLE_SERVER);
    cfg.out_buf = out_buf;
    cfg.out_cap = sizeof out_buf;
    r += (unsigned)wick_conn_init(&conn, &cfg, &cbs, NULL);
    r += (unsigned)wick_conn_recv(&conn, in_buf, n, &used);
    r += (unsigned)wick_conn_send(&conn, WICK_OP_TEXT, in_buf, n, true);
    r += (unsigned)wick_conn_ping(&conn, in_buf, n);
    r += (unsigned)wick_conn_close(&conn, WICK_CLOSE_NORMAL, NULL, 0);
    const uint8_t *p = wick_conn_out_peek(&conn, &n);
    wick_conn_out_consume(&conn, n);
    r += wick_conn_state(&conn);
    return (int)(r + (unsigned)used + (p != NULL));
}
