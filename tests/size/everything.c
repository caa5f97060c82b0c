/* "everything": a firmware program that uses all of wick: both opening
 * handshakes (server parse, accept and reject; client request and
 * verify), SHA-1, base64, the frame codec (parser and writers), masking,
 * UTF-8, close codes, the error table and the connection engine in both
 * roles. tests/size/size.sh links it with --gc-sections and counts what
 * it pulls in from the library. Never run. */
#include "wick.h"

static uint8_t out_buf[512];
static uint8_t in_buf[256];
static char text[512];
static wick_hs_request req;
static wick_hs_client cli;
static wick_frame_parser fp;
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

static unsigned handshakes(void)
{
    size_t n = size_len;
    size_t used = 0;
    unsigned r = 0;
    wick_hs_request_init(&req, NULL);
    wick_err e = wick_hs_server_parse(&req, text, n, &used);
    r += (unsigned)wick_err_http_status(e);
    if (e == WICK_OK) {
        wick_hs_accept_opts opts = {{NULL, 0}, {NULL, 0}, NULL, 0};
        r += (unsigned)wick_hs_server_accept(&req, &opts, text, sizeof text, &used);
    } else {
        r += (unsigned)wick_hs_server_reject(e, text, sizeof text, &used);
    }
    r += (unsigned)wick_http_response(404, NULL, "x", 1, NULL, 0, true, text, sizeof text, &used);
    wick_str v;
    r += wick_hs_request_header(&req, "Cookie", &v);
    static const wick_hs_client_opts copts = {{"/", 1}, {"h", 1},  {NULL, 0}, NULL,
                                              0,        {NULL, 0}, NULL,      0};
    r += (unsigned)wick_hs_client_request(&cli, &copts, in_buf, NULL, text, sizeof text, &used);
    r += (unsigned)wick_hs_client_verify(&cli, text, n, &used);
    wick_ext ext[2];
    size_t next = 0;
    r += (unsigned)wick_ext_parse(text, n, ext, 2, &next);
    char tmp[32];
    r += (unsigned)wick_str_unquote(v, tmp, sizeof tmp, &used);
    r += wick_list_has(v, "x");
    return r;
}

static unsigned helpers(void)
{
    size_t n = size_len;
    size_t used = 0;
    unsigned r = 0;
    uint8_t digest[WICK_SHA1_LEN];
    wick_sha1(in_buf, n, digest);
    r += (unsigned)wick_base64_encode(digest, sizeof digest, text, sizeof text, &used);
    r += (unsigned)wick_base64_decode(text, n, in_buf, sizeof in_buf, &used);
    char acc[WICK_ACCEPT_LEN];
    r += (unsigned)wick_accept_key(text, n, acc);
    r += wick_utf8_valid(in_buf, n);
    wick_utf8 u;
    wick_utf8_init(&u);
    r += (unsigned)wick_utf8_feed(&u, in_buf, n, NULL);
    r += (unsigned)wick_utf8_finish(&u);
    r += wick_close_code_valid((uint16_t)n);
    r += (unsigned)*wick_strerror((wick_err)n) + (unsigned)*wick_err_name((wick_err)n);
    r += wick_err_close_code((wick_err)n) + wick_err_is_error((wick_err)n);
    r += (unsigned)*wick_http_reason((int)n) + (unsigned)wick_version();
    return r;
}

static unsigned codec(void)
{
    size_t n = size_len;
    size_t used = 0;
    unsigned r = 0;
    wick_frame_event ev;
    wick_frame_parser_init(&fp, WICK_ROLE_SERVER, 0, 0);
    r += (unsigned)wick_frame_parser_feed(&fp, in_buf, n, &used, &ev);
    wick_frame_header h = {true, 0, WICK_OP_TEXT, true, {1, 2, 3, 4}, 5};
    r += (unsigned)wick_frame_header_write(&h, out_buf, sizeof out_buf, &used);
    r += (unsigned)wick_frame_write(WICK_OP_BINARY, true, 0, h.mask, in_buf, n, out_buf,
                                    sizeof out_buf, &used);
    r += (unsigned)wick_frame_header_size(n, true);
    size_t phase = 0;
    wick_mask_apply(in_buf, n, h.mask, &phase);
    return r;
}

static unsigned engine(wick_role role)
{
    size_t n = size_len;
    size_t used = 0;
    unsigned r = 0;
    wick_conn_config cfg;
    wick_conn_config_default(&cfg, role);
    cfg.out_buf = out_buf;
    cfg.out_cap = sizeof out_buf;
    cfg.msg_buf = (uint8_t *)text;
    cfg.msg_cap = sizeof text;
    r += (unsigned)wick_conn_init(&conn, &cfg, &cbs, NULL);
    r += (unsigned)wick_conn_recv(&conn, in_buf, n, &used);
    r += (unsigned)wick_conn_send(&conn, WICK_OP_TEXT, in_buf, n, true);
    r += (unsigned)wick_conn_send_some(&conn, WICK_OP_BINARY, in_buf, n, true, &used);
    r += (unsigned)wick_conn_send_space(&conn);
    r += (unsigned)wick_conn_ping(&conn, in_buf, n);
    wick_prepared pf;
    r += (unsigned)wick_prepare(WICK_OP_TEXT, in_buf, n, out_buf, sizeof out_buf, &pf);
    r += (unsigned)wick_conn_send_prepared(&conn, &pf);
    r += (unsigned)wick_conn_close(&conn, WICK_CLOSE_NORMAL, "bye", 3);
    const uint8_t *p = wick_conn_out_peek(&conn, &used);
    wick_conn_out_consume(&conn, used);
    r += (unsigned)wick_conn_out_pending(&conn) + wick_conn_state(&conn) + (p != NULL);
    r += wick_conn_close_code(&conn) + (unsigned)wick_conn_error(&conn);
    r += (unsigned)wick_conn_role(&conn) + (wick_conn_user(&conn) != NULL);
    r += (unsigned)wick_conn_reset(&conn);
    wick_conn_release(&conn);
    return r;
}

int main(void)
{
    cbs.random = rnd;
    unsigned r = handshakes() + helpers() + codec();
    r += engine(WICK_ROLE_SERVER) + engine(WICK_ROLE_CLIENT);
    return (int)r;
}
