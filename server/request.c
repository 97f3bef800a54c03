/* request.c — per-request bookkeeping. */
#include "request.h"

#include <stdlib.h>
#include <string.h>

hl_srv_request *hl_srv_request_new(const char *target)
{
    hl_srv_request *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->target = strdup(target ? target : "");
    if (r->target == NULL) {
        free(r);
        return NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    return r;
}

void hl_srv_request_free(hl_srv_request *r)
{
    if (r == NULL)
        return;
    free(r->target);
    free(r->body);
    free(r);
}

static void drop_body(hl_srv_request *r)
{
    free(r->body);
    r->body = NULL;
    r->body_len = r->body_cap = 0;
    r->too_large = true;
}

bool hl_srv_request_append(hl_srv_request *r, const char *data, size_t n, uint64_t limit)
{
    if (r->too_large)
        return true;
    if (n > limit || r->body_len > limit - n) {
        drop_body(r);
        return true;
    }
    if (r->body_len + n + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 4096;
        while (cap < r->body_len + n + 1)
            cap *= 2;
        char *grown = realloc(r->body, cap);
        if (grown == NULL)
            return false;
        r->body = grown;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    /* The api reads bodies as text; a terminator costs nothing. */
    r->body[r->body_len] = '\0';
    return true;
}

const char *hl_srv_request_query(const hl_srv_request *r)
{
    const char *q = strchr(r->target, '?');
    return q ? q + 1 : NULL;
}

double hl_srv_request_seconds(const hl_srv_request *r)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - r->t0.tv_sec) + (double)(now.tv_nsec - r->t0.tv_nsec) / 1e9;
}
