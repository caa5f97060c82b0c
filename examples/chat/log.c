/*
 * Structured log lines on stderr, one event per line in logfmt:
 *   ts=2026-01-02T03:04:05.678Z level=info event=join id=c3 room=lobby
 * Values given by callers are already quoted where they may hold spaces.
 */
#include "chat.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void log_line(int level, const char *event, const char *fmt, ...)
{
    if (level > cfg.log_level) {
        return;
    }
    static const char *const names[] = {"error", "info", "debug"};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "ts=%s.%03ldZ level=%s event=%s", when, ts.tv_nsec / 1000000L,
            names[level < 0   ? 0
                  : level > 2 ? 2
                              : level],
            event);
    if (fmt != NULL && fmt[0] != '\0') {
        va_list ap;
        va_start(ap, fmt);
        fputc(' ', stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
}
