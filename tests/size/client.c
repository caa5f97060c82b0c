/* "client": a firmware WebSocket client: the client handshake (request
 * and verify) and the engine in the client role, nothing else.
 * tests/size/size.sh links it with --gc-sections (firmware configuration,
 * WICK_NO_ERR_STRINGS) for the flash-per-feature table of
 * docs/embedded.md. Never run. */
#include "wick.h"

static uint8_t out_buf[WICK_OUT_MIN];
static uint8_t in_buf[WICK_RECV_MIN];
static char text[512];
static wick_hs_client cli;
static wick_conn conn;
volatile size_t size_len; /* keeps lengths unknown to the compiler */

static int rnd(void *user, uint8_t *out, size_t n)
{
    (void)user;
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint8_t)(i * 7U);
    }
    return 0;
}

static wick_callbacks cbs; /* .random is set in main */

int main(void)
{
    size_t n = size_len;
    size_t used = 0;
    unsigned r = 0;
    static const wick_hs_client_opts copts = {{"/", 1}, {"h", 1},  {NULL, 0}, NULL,
                                              0,        {NULL, 0}, NULL,      0};
    r += (unsigned)wick_hs_client_request(&cli, &copts, in_buf, NULL, text, sizeof text, &used);
    r += (unsigned)wick_hs_client_verify(&cli, text, n, &used);
    cbs.random = rnd;
    wick_conn_config cfg;
    wick_conn_config_default(&cfg, WICK_ROLE_CLIENT);
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
