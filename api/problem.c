/* problem.c — building problem+json and JSON responses. */
#include "problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *reason(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    case 507: return "Insufficient Storage";
    default: return status >= 500 ? "Internal Server Error" : "Error";
    }
}

static void set_body(hl_api_response *out, int status, const char *content_type, json_t *body)
{
    out->status = status;
    out->content_type = content_type;
    out->body = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    out->body_len = out->body ? strlen(out->body) : 0;
    json_decref(body);
    if (out->body == NULL) {
        out->status = 503;
        out->content_type = "application/problem+json";
        out->body = strdup("{\"type\":\"about:blank\",\"title\":\"Service Unavailable\",\"status\":503,"
                           "\"detail\":\"the server ran out of memory building the response\"}");
        out->body_len = out->body ? strlen(out->body) : 0;
    }
}

void hl_respond_json(hl_api_response *out, int status, json_t *body)
{
    set_body(out, status, "application/json", body);
}

/* Length of the valid UTF-8 sequence at s, 0 if none starts there. */
static size_t utf8_seq(const unsigned char *s)
{
    size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || (n == 2 && s[0] < 0xC2))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

bool hl_text_is_utf8(const char *text)
{
    for (const unsigned char *s = (const unsigned char *)text; *s;) {
        size_t n = utf8_seq(s);
        if (n == 0)
            return false;
        s += n;
    }
    return true;
}

/* A detail may quote what the client sent; JSON needs valid UTF-8, so any
 * other byte is shown as \xNN instead of silently dropping the detail. */
static void to_utf8(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (const unsigned char *s = (const unsigned char *)in; *s && o + 5 < cap;) {
        size_t n = utf8_seq(s);
        if (n == 0) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02X", *s);
            s++;
            continue;
        }
        memcpy(out + o, s, n);
        o += n;
        s += n;
    }
    out[o] = '\0';
}

void hl_problem(hl_api_response *out, int status, const char *slug, json_t *extra, const char *fmt, ...)
{
    char raw[512], detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    to_utf8(raw, detail, sizeof detail);
    char type[96];
    if (slug != NULL)
        snprintf(type, sizeof type, "/problems/%s", slug);
    json_t *p = json_object();
    json_object_set_new(p, "type", json_string(slug ? type : "about:blank"));
    json_object_set_new(p, "title", json_string(reason(status)));
    json_object_set_new(p, "status", json_integer(status));
    json_object_set_new(p, "detail", json_string(detail));
    if (extra != NULL) {
        json_object_update(p, extra);
        json_decref(extra);
    }
    set_body(out, status, "application/problem+json", p);
}

int hl_problem_status_of(hl_status s)
{
    switch (s) {
    case HL_OK:
        return 200;
    case HL_E_NO_OBJECT:
    case HL_E_NAME_UNBOUND:
    case HL_E_INDEX:
    case HL_E_KEY:
    case HL_E_ATTR:
    case HL_E_NOT_FOUND:
        return 404;
    case HL_E_IMMUTABLE:
    case HL_E_UNHASHABLE:
    case HL_E_WRONG_TYPE:
    case HL_E_NOT_WEAKREFABLE:
    case HL_E_BUSY:
        return 409;
    case HL_E_LIMIT_OBJECTS:
    case HL_E_LIMIT_BYTES:
        return 507;
    case HL_E_INVALID:
        return 422;
    case HL_E_NOMEM:
        return 503;
    }
    return 500;
}

const char *hl_problem_slug_of(hl_status s)
{
    switch (s) {
    case HL_OK: return "ok";
    case HL_E_NO_OBJECT: return "no-such-object";
    case HL_E_NAME_UNBOUND: return "name-error";
    case HL_E_IMMUTABLE: return "immutable";
    case HL_E_UNHASHABLE: return "unhashable";
    case HL_E_INDEX: return "index-error";
    case HL_E_KEY: return "key-error";
    case HL_E_ATTR: return "attribute-error";
    case HL_E_NOT_FOUND: return "value-error";
    case HL_E_WRONG_TYPE: return "wrong-type";
    case HL_E_NOT_WEAKREFABLE: return "not-weakrefable";
    case HL_E_LIMIT_OBJECTS:
    case HL_E_LIMIT_BYTES: return "memory-error";
    case HL_E_INVALID: return "invalid-argument";
    case HL_E_BUSY: return "busy";
    case HL_E_NOMEM: return "out-of-memory";
    }
    return "internal";
}
