/* log.c — timestamped single-write lines on stderr. */
#include "log.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 2048

static size_t put_time(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    int m = snprintf(buf + n, cap - n, ".%03ldZ ", ts.tv_nsec / 1000000);
    return n + (size_t)m;
}

static void emit(char *line, size_t len)
{
    if (len >= LINE_MAX_BYTES - 1)
        len = LINE_MAX_BYTES - 2;
    line[len++] = '\n';
    /* A failed log write has nowhere better to be reported. */
    ssize_t ignored = write(STDERR_FILENO, line, len);
    (void)ignored;
}

static void vlog(const char *level, const char *fmt, va_list ap)
{
    char line[LINE_MAX_BYTES];
    size_t n = put_time(line, sizeof line);
    n += (size_t)snprintf(line + n, sizeof line - n, "heaplab %s: ", level);
    int m = vsnprintf(line + n, sizeof line - n, fmt, ap);
    if (m > 0)
        n += (size_t)m < sizeof line - n ? (size_t)m : sizeof line - n - 1;
    /* libmicrohttpd ends its messages with a newline of its own. */
    while (n > 0 && line[n - 1] == '\n')
        n--;
    emit(line, n);
}

void hl_srv_log(const char *level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

void hl_srv_log_mhd(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    vlog("mhd", fmt, ap);
}

static bool is_secret_name(const char *name, size_t len)
{
    for (size_t i = 0; i + 5 <= len; i++)
        if (strncasecmp(name + i, "token", 5) == 0)
            return true;
    return false;
}

/* Copies the target, escaping bytes a terminal would interpret and
 * replacing the values of token-like query parameters. */
static size_t put_target(char *out, size_t cap, const char *t)
{
    size_t n = 0;
    const char *q = strchr(t, '?');
    const char *name = NULL;
    bool redacting = false;
    for (const char *p = t; *p && n + 16 < cap; p++) {
        if (q && p > q && (*p == '&' || p == q + 1)) {
            redacting = false;
            name = *p == '&' ? p + 1 : p;
        }
        if (q && p > q && *p == '=' && name && !redacting && is_secret_name(name, (size_t)(p - name))) {
            n += (size_t)snprintf(out + n, cap - n, "=REDACTED");
            redacting = true;
            continue;
        }
        if (redacting && *p != '&')
            continue;
        unsigned char c = (unsigned char)*p;
        if (isprint(c) && c != '"' && c != '\\')
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, cap - n, "\\x%02x", c);
    }
    out[n] = '\0';
    return n;
}

void hl_srv_log_request(const char *method, const char *target, int status, uint64_t bytes,
                        double seconds)
{
    char line[LINE_MAX_BYTES];
    char tgt[1024];
    put_target(tgt, sizeof tgt, target ? target : "");
    size_t n = put_time(line, sizeof line);
    char st[16] = "-";
    if (status > 0)
        snprintf(st, sizeof st, "%d", status);
    int m = snprintf(line + n, sizeof line - n, "\"%s %s\" %s %llu %.3fms", method[0] ? method : "-",
                     tgt, st, (unsigned long long)bytes, seconds * 1000.0);
    if (m > 0)
        n += (size_t)m < sizeof line - n ? (size_t)m : sizeof line - n - 1;
    emit(line, n);
}
