/*
 * chat_server: a multi-room chat server on wick (see docs/chat.md).
 *
 *   chat_server [OPTIONS]                       serve (127.0.0.1:8080)
 *   chat_server token USER --auth-secret FILE [--ttl SECS]
 *                                               print an auth token
 *
 * This file reads the command line and starts the loop.
 */
#include "chat.h"
#include "limits.h"
#include "redis.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct config cfg;
struct stats stats;

static void usage(FILE *to)
{
    fputs("usage: chat_server [OPTIONS]\n"
          "       chat_server token USER --auth-secret FILE [--ttl SECS] [--role admin]\n"
          "\n"
          "A multi-room WebSocket chat server built on wick. One port serves the\n"
          "browser page (GET /, files from --public) and the WebSocket endpoint\n"
          "(GET /chat). Logs go to stderr as key=value lines; the first line on\n"
          "stdout is \"listening on PORT\".\n"
          "\n"
          "Options (durations in seconds, fractions allowed):\n"
          "  --host ADDR            address to listen on (127.0.0.1)\n"
          "  --port N               port; 0 picks a free one (8080)\n"
          "  --tls-cert FILE        certificate chain (PEM): serve https and wss only\n"
          "  --tls-key FILE         its private key (PEM); both or neither\n"
          "  --public DIR           static files (examples/chat/public)\n"
          "  --allow-origin ORIGIN  accept WebSocket upgrades from this Origin; repeat\n"
          "                         for several, '*' for any (default: same origin,\n"
          "                         or no Origin header at all)\n"
          "  --auth-secret FILE     require HMAC-SHA256 tokens signed with the FILE's\n"
          "                         contents (?token=, chat_token cookie, or an auth\n"
          "                         message); without it users pick a display name\n"
          "  --max-room N           members per room (100)\n"
          "  --max-message BYTES    largest WebSocket message; over it: close 1009 (1048576)\n"
          "  --max-payload BYTES    largest JSON payload member (16384)\n"
          "  --max-queue N          messages queued for a slow client before it is\n"
          "                         closed with 1008 (256)\n"
          "  --max-clients N        concurrent connections (100000)\n"
          "  --rate-limit N         messages per client per window (100)\n"
          "  --rate-window SECS     rate limit window (60)\n" LIMITS_HELP
          "  --ping-interval SECS   protocol ping; no pong by the next ping: dropped (30)\n"
          "  --handshake-timeout SECS  TLS + HTTP request, and authentication deadline (10)\n"
          "  --close-timeout SECS   closing handshake deadline (5)\n"
          "  --no-deflate           do not negotiate permessage-deflate (compression)\n"
          "  --deflate-budget BYTES compression memory per connection; the windows\n"
          "                         are negotiated to fit it (65536; 0: default)\n"
          "  --deflate-shared       server_no_context_takeover on every connection, so\n"
          "                         a room message is compressed once for all members\n"
          "  --history N            chat messages kept per room and replayed on join\n"
          "                         (100; 0: none; at most 10000)\n"
          "  --redis redis://HOST:PORT[/DB]  share rooms, members, private messages\n"
          "                         and history with the other nodes on this Redis\n"
          "                         (docs/chat.md \"Scale-out\"); HOST: an IP address\n"
          "  --admin NAME           this user may send `broadcast` (to everyone on\n"
          "                         every node); repeatable, up to 16; needs --auth-secret\n"
          "  -v, --verbose          debug log lines\n"
          "  -q, --quiet            errors only\n"
          "  -h, --help             this help\n"
          "\n"
          "token: prints a token for USER valid for --ttl seconds (86400); with\n"
          "--role admin the token also allows `broadcast`.\n",
          to);
}

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max || s[0] == '-') {
        return false;
    }
    *out = v;
    return true;
}

static bool parse_secs(const char *s, unsigned *ms)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v > 0.0) || v > 86400.0 * 30) {
        return false;
    }
    *ms = (unsigned)(v * 1000.0 + 0.5);
    return *ms > 0;
}

static bool read_secret(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "chat_server: cannot read %s: %s\n", path, strerror(errno));
        return false;
    }
    size_t n = fread(cfg.secret, 1, sizeof cfg.secret, f);
    fclose(f);
    while (n > 0 &&
           (cfg.secret[n - 1] == '\n' || cfg.secret[n - 1] == '\r' || cfg.secret[n - 1] == ' ')) {
        n--;
    }
    if (n == 0) {
        fprintf(stderr, "chat_server: %s is empty\n", path);
        return false;
    }
    if (n < 16) {
        fprintf(stderr, "chat_server: warning: the secret in %s is short (%zu bytes)\n", path, n);
    }
    cfg.secret_len = n;
    return true;
}

enum {
    OPT_HOST = 256,
    OPT_PORT,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_PUBLIC,
    OPT_ORIGIN,
    OPT_SECRET,
    OPT_MAX_ROOM,
    OPT_MAX_MESSAGE,
    OPT_MAX_PAYLOAD,
    OPT_MAX_QUEUE,
    OPT_MAX_CLIENTS,
    OPT_RATE,
    OPT_RATE_WINDOW,
    OPT_PING,
    OPT_HANDSHAKE,
    OPT_CLOSE,
    OPT_TTL,
    OPT_NO_DEFLATE,
    OPT_DEFLATE_BUDGET,
    OPT_DEFLATE_SHARED,
    OPT_HISTORY,
    OPT_REDIS,
    OPT_ADMIN,
    OPT_ROLE
};

static const struct option long_opts[] = {
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"public", required_argument, NULL, OPT_PUBLIC},
    {"allow-origin", required_argument, NULL, OPT_ORIGIN},
    {"auth-secret", required_argument, NULL, OPT_SECRET},
    {"max-room", required_argument, NULL, OPT_MAX_ROOM},
    {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
    {"max-payload", required_argument, NULL, OPT_MAX_PAYLOAD},
    {"max-queue", required_argument, NULL, OPT_MAX_QUEUE},
    {"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
    {"rate-limit", required_argument, NULL, OPT_RATE},
    {"rate-window", required_argument, NULL, OPT_RATE_WINDOW},
    LIMITS_LONG_OPTS{"ping-interval", required_argument, NULL, OPT_PING},
    {"handshake-timeout", required_argument, NULL, OPT_HANDSHAKE},
    {"close-timeout", required_argument, NULL, OPT_CLOSE},
    {"ttl", required_argument, NULL, OPT_TTL},
    {"no-deflate", no_argument, NULL, OPT_NO_DEFLATE},
    {"deflate-budget", required_argument, NULL, OPT_DEFLATE_BUDGET},
    {"deflate-shared", no_argument, NULL, OPT_DEFLATE_SHARED},
    {"history", required_argument, NULL, OPT_HISTORY},
    {"redis", required_argument, NULL, OPT_REDIS},
    {"admin", required_argument, NULL, OPT_ADMIN},
    {"role", required_argument, NULL, OPT_ROLE},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int bad(const char *opt, const char *val)
{
    fprintf(stderr, "chat_server: invalid value for --%s: %s (see --help)\n", opt, val);
    return 2;
}

int main(int argc, char **argv)
{
    cfg.host = "127.0.0.1";
    cfg.port = "8080";
    cfg.public_dir = "examples/chat/public";
    cfg.max_room = 100;
    cfg.max_message = 1024 * 1024;
    cfg.max_payload = 16 * 1024;
    cfg.max_queue = 256;
    cfg.max_clients = 100000;
    cfg.rate_limit = 100;
    cfg.rate_window_ms = 60000;
    cfg.ping_ms = 30000;
    cfg.deflate = wick_pmd_available();
    cfg.deflate_budget = WICK_PMD_DEFAULT_BUDGET;
    cfg.handshake_ms = 10000;
    cfg.close_ms = 5000;
    cfg.log_level = LOG_INFO;
    cfg.history = 100;

    bool token_mode = argc > 1 && strcmp(argv[1], "token") == 0;
    const char *token_user = NULL;
    unsigned long long ttl = 86400;
    bool token_admin = false;
    if (token_mode) {
        if (argc < 3 || argv[2][0] == '-') {
            fputs("usage: chat_server token USER --auth-secret FILE [--ttl SECS] [--role admin]\n",
                  stderr);
            return 2;
        }
        token_user = argv[2];
        argv += 2;
        argc -= 2;
    }
    int opt;
    unsigned long long v;
    while ((opt = getopt_long(argc, argv, "vqh", long_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_HOST:
            cfg.host = optarg;
            break;
        case OPT_PORT:
            if (!parse_uint(optarg, 65535, &v)) {
                return bad("port", optarg);
            }
            cfg.port = optarg;
            break;
        case OPT_TLS_CERT:
            cfg.tls_cert = optarg;
            break;
        case OPT_TLS_KEY:
            cfg.tls_key = optarg;
            break;
        case OPT_PUBLIC:
            cfg.public_dir = optarg;
            break;
        case OPT_ORIGIN:
            if (strcmp(optarg, "*") == 0) {
                cfg.any_origin = true;
            } else if (cfg.num_origins < CHAT_MAX_ORIGINS) {
                cfg.origins[cfg.num_origins++] = optarg;
            } else {
                return bad("allow-origin", "too many");
            }
            break;
        case OPT_SECRET:
            if (!read_secret(optarg)) {
                return 2;
            }
            break;
        case OPT_MAX_ROOM:
            if (!parse_uint(optarg, 1000000, &v) || v == 0) {
                return bad("max-room", optarg);
            }
            cfg.max_room = (unsigned)v;
            break;
        case OPT_MAX_MESSAGE:
            if (!parse_uint(optarg, 1ull << 30, &v) || v < 256) {
                return bad("max-message", optarg);
            }
            cfg.max_message = v;
            break;
        case OPT_MAX_PAYLOAD:
            if (!parse_uint(optarg, 1u << 24, &v) || v < 64) {
                return bad("max-payload", optarg);
            }
            cfg.max_payload = (size_t)v;
            break;
        case OPT_MAX_QUEUE:
            if (!parse_uint(optarg, 1u << 20, &v) || v == 0) {
                return bad("max-queue", optarg);
            }
            cfg.max_queue = (unsigned)v;
            break;
        case OPT_MAX_CLIENTS:
            if (!parse_uint(optarg, 10000000, &v) || v == 0) {
                return bad("max-clients", optarg);
            }
            cfg.max_clients = (unsigned)v;
            break;
        case OPT_RATE:
            if (!parse_uint(optarg, 1000000000, &v) || v == 0) {
                return bad("rate-limit", optarg);
            }
            cfg.rate_limit = (unsigned)v;
            break;
        case OPT_RATE_WINDOW:
            if (!parse_secs(optarg, &cfg.rate_window_ms)) {
                return bad("rate-window", optarg);
            }
            break;
        case OPT_MAX_PER_IP:
        case OPT_RATE_LIMIT_IP:
        case OPT_MESSAGE_DEADLINE:
        case OPT_REASSEMBLY_CAP:
            if (!limits_option(opt, optarg)) {
                return 2;
            }
            break;
        case OPT_PING:
            if (!parse_secs(optarg, &cfg.ping_ms)) {
                return bad("ping-interval", optarg);
            }
            break;
        case OPT_HANDSHAKE:
            if (!parse_secs(optarg, &cfg.handshake_ms)) {
                return bad("handshake-timeout", optarg);
            }
            break;
        case OPT_CLOSE:
            if (!parse_secs(optarg, &cfg.close_ms)) {
                return bad("close-timeout", optarg);
            }
            break;
        case OPT_TTL:
            if (!parse_uint(optarg, 10ull * 365 * 86400, &v)) {
                return bad("ttl", optarg);
            }
            ttl = v;
            break;
        case OPT_NO_DEFLATE:
            cfg.deflate = false;
            break;
        case OPT_DEFLATE_BUDGET:
            if (!parse_uint(optarg, 64ull << 20, &v)) {
                return bad("deflate-budget", optarg);
            }
            cfg.deflate_budget = (size_t)v ? (size_t)v : WICK_PMD_DEFAULT_BUDGET;
            break;
        case OPT_DEFLATE_SHARED:
            cfg.deflate_shared = true;
            break;
        case OPT_HISTORY:
            if (!parse_uint(optarg, 10000, &v)) {
                return bad("history", optarg);
            }
            cfg.history = (unsigned)v;
            break;
        case OPT_REDIS:
            if (!cluster_config(optarg)) {
                return bad("redis", optarg);
            }
            break;
        case OPT_ADMIN:
            if (!valid_name(optarg, strlen(optarg)) || cfg.num_admins == CHAT_MAX_ADMINS) {
                return bad("admin", optarg);
            }
            cfg.admins[cfg.num_admins++] = optarg;
            break;
        case OPT_ROLE:
            if (!token_mode || strcmp(optarg, "admin") != 0) {
                return bad("role", optarg);
            }
            token_admin = true;
            break;
        case 'v':
            cfg.log_level = LOG_DEBUG;
            break;
        case 'q':
            cfg.log_level = LOG_ERR;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "chat_server: unexpected argument: %s (see --help)\n", argv[optind]);
        return 2;
    }
    if (token_mode) {
        if (cfg.secret_len == 0) {
            fputs("chat_server token: --auth-secret FILE is required\n", stderr);
            return 2;
        }
        char tok[256];
        if (auth_make_token(cfg.secret, cfg.secret_len, token_user,
                            (long long)time(NULL) + (long long)ttl, token_admin, tok,
                            sizeof tok) == 0) {
            fprintf(stderr, "chat_server token: invalid user name (1-50 of A-Z a-z 0-9 - _)\n");
            return 2;
        }
        puts(tok);
        return 0;
    }
    /* An outgoing message is at most the payload plus a small envelope,
     * and must fit the engine's output buffer whole. */
    cfg.out_cap = cfg.max_payload + 4096 > 64 * 1024 ? cfg.max_payload + 4096 : 64 * 1024;

    if (cfg.num_admins > 0 && cfg.secret_len == 0) {
        fputs("chat_server: --admin needs --auth-secret (display names are self-chosen)\n", stderr);
        return 2;
    }
    if ((cfg.tls_cert == NULL) != (cfg.tls_key == NULL)) {
        fputs("chat_server: --tls-cert and --tls-key go together (see --help)\n", stderr);
        return 2;
    }
    /* Raise the descriptor limit to the hard limit for many clients. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (!deflate_setup()) {
        return 1;
    }
    io_tls_ctx *tls = NULL;
    if (cfg.tls_cert != NULL && (tls = io_tls_server(cfg.tls_cert, cfg.tls_key)) == NULL) {
        return 1; /* io_tls_server() said why */
    }
    static io_loop loop;
    if (!io_loop_init(&loop, "chat_server")) {
        return 1;
    }
    loop.verbose = cfg.log_level >= LOG_DEBUG;
    loop.max_live = cfg.max_clients;
    ws_config wcfg = {
        .cb = &chat_ws_callbacks,
        .deflate = &chat_deflate,
        .hs_timeout_ms = cfg.handshake_ms,
        .max_message = cfg.max_message,
        .high_water = cfg.out_cap, /* stop reading a client whose own output backs up */
        .close_ms = cfg.close_ms,
        .http_headers = http_headers,
        .num_http_headers = sizeof http_headers / sizeof http_headers[0],
    };
    limits_setup(&loop, &wcfg);
    if (!ws_listen(&loop, cfg.host, cfg.port, tls, &wcfg) || !chat_start(&loop) ||
        !cluster_start(&loop)) {
        io_loop_free(&loop);
        return 1;
    }
    char index[4096];
    snprintf(index, sizeof index, "%s/index.html", cfg.public_dir);
    if (access(index, R_OK) != 0) {
        log_line(LOG_ERR, "no_page",
                 "public=\"%s\" hint=\"run from the source tree or pass --public\"",
                 cfg.public_dir);
    }
    log_line(LOG_INFO, "start",
             "host=%s port=%s tls=%s auth=%s max_room=%u max_message=%llu rate=%u/%ums "
             "ping_ms=%u deflate=%s deflate_budget=%zu wick=%s",
             cfg.host, cfg.port, tls != NULL ? "on" : "off", cfg.secret_len > 0 ? "token" : "none",
             cfg.max_room, (unsigned long long)cfg.max_message, cfg.rate_limit, cfg.rate_window_ms,
             cfg.ping_ms, cfg.deflate ? (cfg.deflate_shared ? "shared" : "per-connection") : "off",
             cfg.deflate_budget, WICK_VERSION_STRING);
    io_loop_run(&loop);
    log_line(LOG_INFO, "stopped", "accepted=%llu messages=%llu", stats.accepted, stats.messages);
    cluster_stop();
    io_loop_free(&loop);
    chat_cleanup();
    history_cleanup();
    io_tls_free_ctx(tls);
    return 0;
}
