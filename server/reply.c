/* reply.c — response construction shared by every route. */
#include "reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cors.h"

static const char *status_title(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

enum MHD_Result hl_srv_reply(hl_srv_state *st, hl_srv_request *req, int status, struct MHD_Response *r,
                             uint64_t bytes)
{
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    const char *origin = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Origin");
    hl_srv_cors_decorate(st->cfg, origin, r);
    if (atomic_load(&st->draining) || req->too_large || req->bad_framing)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(req->conn, (unsigned)status, r);
    MHD_destroy_response(r);
    if (ok == MHD_YES) {
        req->status = status;
        req->bytes = bytes;
    }
    return ok;
}

static struct MHD_Response *with_type(struct MHD_Response *r, const char *ctype)
{
    if (r && ctype)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    return r;
}

enum MHD_Result hl_srv_reply_text(hl_srv_state *st, hl_srv_request *req, int status, const char *ctype,
                                  const char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    return hl_srv_reply(st, req, status, with_type(r, ctype), len);
}

enum MHD_Result hl_srv_reply_owned(hl_srv_state *st, hl_srv_request *req, int status, const char *ctype,
                                   char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL)
        free(body);
    return hl_srv_reply(st, req, status, with_type(r, ctype), len);
}

static struct MHD_Response *problem(int status, const char *detail, size_t *len)
{
    char body[512];
    int n = snprintf(body, sizeof body,
                     "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%d,\"detail\":\"%s\"}",
                     status_title(status), status, detail);
    *len = n > 0 && (size_t)n < sizeof body ? (size_t)n : 0;
    struct MHD_Response *r = MHD_create_response_from_buffer(*len, body, MHD_RESPMEM_MUST_COPY);
    return with_type(r, "application/problem+json");
}

enum MHD_Result hl_srv_reply_problem(hl_srv_state *st, hl_srv_request *req, int status, const char *detail)
{
    size_t len;
    struct MHD_Response *r = problem(status, detail, &len);
    return hl_srv_reply(st, req, status, r, len);
}

enum MHD_Result hl_srv_reply_not_allowed(hl_srv_state *st, hl_srv_request *req, const char *allow)
{
    size_t len;
    struct MHD_Response *r = problem(405, "this path does not take that method", &len);
    if (r)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    return hl_srv_reply(st, req, 405, r, len);
}
