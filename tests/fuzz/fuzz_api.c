/* fuzz_api.c — libFuzzer target: the whole HTTP semantics (api/) without
 * sockets, on an api whose heaps persist from one input to the next.
 *
 * Framing (text, so seeds are readable and libFuzzer's mutations stay
 * meaningful).  An input is a list of requests separated by a line "%%":
 *
 *     METHOD PATH[?QUERY]
 *     key: value          header lines, up to the first empty line
 *     ...
 *
 *     body...             everything up to the next "\n%%\n" (or the end)
 *
 * Header keys: "auth" (admin | heap | none | anything else = the raw
 * Authorization value), "heap" (a digit: which heap "$H" means), "accept",
 * "ctype" (Content-Type), "leid" (Last-Event-ID), "read" (bytes to read from
 * an SSE stream before closing it).  "$H" in the path or body is replaced by
 * the selected heap's id; "auth: heap" sends that heap's token.
 *
 * Oracles, any of which aborts: a 500 answer; a status outside 100..599; a
 * JSON content type whose body does not parse; body_len disagreeing with
 * the body; a heap created (201) without Location; a 405 without Allow; a
 * stream read returning more than asked; after every input,
 * GET /v1/heaps/{h}/check (hl_heap_check) failing on any heap the admin
 * listing returns.  ASan/UBSan/LSan watch the rest.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

#define ADMIN "fuzz-admin-token"
#define NHEAPS 3

static hl_api *api;
static char heap_id[NHEAPS][80];
static char heap_token[NHEAPS][80];

static void die(const char *what, const char *method, const char *path, int status, const char *body)
{
    fprintf(stderr, "fuzz_api: %s: %s %s -> %d %.400s\n", what, method, path, status, body ? body : "(no body)");
    abort();
}

static void handle(const hl_api_request *rq, hl_api_response *out, size_t read_budget)
{
    hl_api_handle(api, rq, out);
    const char *m = rq->method, *p = rq->path;
    if (out->status < 100 || out->status > 599)
        die("status out of range", m, p, out->status, out->body);
    if (out->status == 500)
        die("internal error", m, p, out->status, out->body);
    if (out->status == 405 && out->allow[0] == '\0')
        die("405 without Allow", m, p, out->status, out->body);
    if (out->body != NULL) {
        if (strlen(out->body) != out->body_len)
            die("body_len differs from the NUL-terminated body", m, p, out->status, out->body);
        if (out->content_type != NULL && strstr(out->content_type, "json") != NULL) {
            json_error_t err;
            json_t *j = json_loadb(out->body, out->body_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
            if (j == NULL)
                die("invalid JSON body", m, p, out->status, out->body);
            json_decref(j);
        }
    }
    if (out->stream != NULL) {
        char buf[512];
        for (size_t got = 0; got < read_budget;) {
            ssize_t n = hl_api_stream_read(out->stream, buf, sizeof buf);
            if (n <= 0)
                break;
            if ((size_t)n > sizeof buf)
                die("stream read overflow", m, p, out->status, NULL);
            got += (size_t)n;
        }
        hl_api_stream_close(out->stream);
        out->stream = NULL;
    }
}

static bool make_heap(int i)
{
    hl_api_request rq = {.method = "POST", .path = "/v1/heaps", .authorization = "Bearer " ADMIN,
                         .body = "{\"name\": \"fuzz\"}", .body_len = 16};
    hl_api_response out;
    hl_api_handle(api, &rq, &out);
    json_t *j = out.status == 201 ? json_loads(out.body, 0, NULL) : NULL;
    hl_api_response_free(&out);
    if (j == NULL)
        return false;
    snprintf(heap_id[i], sizeof heap_id[i], "%s", json_string_value(json_object_get(j, "id")));
    snprintf(heap_token[i], sizeof heap_token[i], "%s", json_string_value(json_object_get(j, "token")));
    json_decref(j);
    return true;
}

static bool heap_alive(int i)
{
    char path[160];
    snprintf(path, sizeof path, "/v1/heaps/%s", heap_id[i]);
    hl_api_request rq = {.method = "GET", .path = path, .authorization = "Bearer " ADMIN};
    hl_api_response out;
    hl_api_handle(api, &rq, &out);
    int st = out.status;
    hl_api_response_free(&out);
    return st == 200;
}

static void teardown(void)
{
    hl_api_shutdown_streams(api);
    hl_api_delete(api);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hl_api_config cfg = {.admin_token = ADMIN, .max_heaps = 6, .max_objects = 4000, .max_bytes = 4u << 20,
                         .event_ring = 200, .max_batch_ops = 300};
    api = hl_api_new(&cfg);
    if (api == NULL)
        abort();
    for (int i = 0; i < NHEAPS; i++)
        if (!make_heap(i))
            abort();
    atexit(teardown);
    return 0;
}

/* Copies s replacing "$H" by id. */
static char *subst(const char *s, size_t n, const char *id, size_t *out_len)
{
    size_t idl = strlen(id), cap = n + 1;
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '$' && s[i + 1] == 'H')
            cap += idl;
    char *r = malloc(cap), *o = r;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && s[i] == '$' && s[i + 1] == 'H') {
            memcpy(o, id, idl);
            o += idl;
            i++;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    if (out_len)
        *out_len = (size_t)(o - r);
    return r;
}

static const char *find_sep(const char *p, const char *end)
{
    for (const char *q = p; q + 4 <= end; q++)
        if (q[0] == '\n' && q[1] == '%' && q[2] == '%' && q[3] == '\n')
            return q;
    return end;
}

static void one_request(const char *p, const char *end)
{
    /* request line */
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *line_end = nl ? nl : end;
    const char *sp = memchr(p, ' ', (size_t)(line_end - p));
    if (sp == NULL)
        return;
    char method[16];
    size_t ml = (size_t)(sp - p);
    if (ml == 0 || ml >= sizeof method)
        return;
    memcpy(method, p, ml);
    method[ml] = '\0';
    const char *target = sp + 1;
    size_t tl = (size_t)(line_end - target);

    int heap = 0;
    char auth_mode[200] = "admin", accept[100] = "", ctype[100] = "", leid[40] = "";
    bool has_accept = false, has_ctype = false, has_leid = false;
    size_t read_budget = 4096;
    const char *q = nl ? nl + 1 : end;
    while (q < end) {
        const char *e = memchr(q, '\n', (size_t)(end - q));
        const char *le = e ? e : end;
        if (le == q) { /* empty line: the body follows */
            q = e ? e + 1 : end;
            break;
        }
        const char *colon = memchr(q, ':', (size_t)(le - q));
        if (colon != NULL) {
            size_t kl = (size_t)(colon - q);
            const char *v = colon + 1;
            while (v < le && *v == ' ')
                v++;
            size_t vl = (size_t)(le - v);
#define TAKE(buf) snprintf(buf, sizeof buf, "%.*s", (int)vl, v)
            if (kl == 4 && memcmp(q, "auth", 4) == 0)
                TAKE(auth_mode);
            else if (kl == 4 && memcmp(q, "heap", 4) == 0 && vl > 0)
                heap = (int)(((unsigned char)v[0] + 2u) % 10); /* '0' -> 0 ... '9' -> 9 */
            else if (kl == 6 && memcmp(q, "accept", 6) == 0)
                TAKE(accept), has_accept = true;
            else if (kl == 5 && memcmp(q, "ctype", 5) == 0)
                TAKE(ctype), has_ctype = true;
            else if (kl == 4 && memcmp(q, "leid", 4) == 0)
                TAKE(leid), has_leid = true;
            else if (kl == 4 && memcmp(q, "read", 4) == 0)
                read_budget = (size_t)strtoul(v, NULL, 10) % 100000;
#undef TAKE
        }
        q = e ? e + 1 : end;
    }
    /* heap index NHEAPS.. names something that is not a heap */
    const char *id = heap < NHEAPS ? heap_id[heap] : "no-such-heap";
    const char *token = heap < NHEAPS ? heap_token[heap] : "0000";

    size_t target_len;
    char *full = subst(target, tl, id, &target_len);
    char *qm = strchr(full, '?');
    const char *query = NULL;
    if (qm != NULL) {
        *qm = '\0';
        query = qm + 1;
    }
    size_t body_len = 0;
    char *body = subst(q, (size_t)(end - q), id, &body_len);

    char auth[300];
    const char *authorization = auth;
    if (strcmp(auth_mode, "admin") == 0)
        snprintf(auth, sizeof auth, "Bearer %s", ADMIN);
    else if (strcmp(auth_mode, "heap") == 0)
        snprintf(auth, sizeof auth, "Bearer %s", token);
    else if (strcmp(auth_mode, "none") == 0)
        authorization = NULL;
    else
        snprintf(auth, sizeof auth, "%s", auth_mode);

    hl_api_request rq = {.method = method, .path = full, .query = query, .authorization = authorization,
                         .accept = has_accept ? accept : NULL, .content_type = has_ctype ? ctype : NULL,
                         .last_event_id = has_leid ? leid : NULL, .body = body_len ? body : NULL,
                         .body_len = body_len};
    hl_api_response out;
    handle(&rq, &out, read_budget);
    if (out.status == 201 && out.location[0] == '\0' && strcmp(rq.path, "/v1/heaps") == 0)
        die("201 without Location", method, full, out.status, out.body);
    hl_api_response_free(&out);
    free(full);
    free(body);
}

/* hl_heap_check on every heap the registry holds, through the check route. */
static void check_all(void)
{
    hl_api_request rq = {.method = "GET", .path = "/v1/heaps", .authorization = "Bearer " ADMIN};
    hl_api_response out;
    handle(&rq, &out, 0);
    if (out.status != 200)
        die("admin listing failed", "GET", "/v1/heaps", out.status, out.body);
    json_t *j = json_loads(out.body, 0, NULL);
    hl_api_response_free(&out);
    json_t *heaps = json_object_get(j, "heaps"), *h;
    size_t i;
    json_array_foreach(heaps, i, h) {
        char path[200];
        snprintf(path, sizeof path, "/v1/heaps/%s/check", json_string_value(json_object_get(h, "id")));
        hl_api_request c = {.method = "GET", .path = path, .authorization = "Bearer " ADMIN};
        handle(&c, &out, 0);
        /* 404: deleted meanwhile is impossible here (single thread) */
        if (out.status != 200)
            die("hl_heap_check failed", "GET", path, out.status, out.body);
        hl_api_response_free(&out);
    }
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    const char *p = (const char *)data, *end = p + size;
    int n = 0;
    while (p < end && n++ < 64) {
        const char *sep = find_sep(p, end);
        one_request(p, sep);
        p = sep == end ? end : sep + 4;
    }
    check_all();
    /* keep NHEAPS heaps alive: replace the ones an input deleted */
    for (int i = 0; i < NHEAPS; i++)
        if (!heap_alive(i) && !make_heap(i)) {
            /* the fuzzer filled max_heaps with its own: delete them all */
            hl_api_request rq = {.method = "GET", .path = "/v1/heaps", .authorization = "Bearer " ADMIN};
            hl_api_response out;
            hl_api_handle(api, &rq, &out);
            json_t *j = json_loads(out.body, 0, NULL), *h;
            hl_api_response_free(&out);
            size_t k;
            json_array_foreach(json_object_get(j, "heaps"), k, h) {
                char path[200];
                snprintf(path, sizeof path, "/v1/heaps/%s", json_string_value(json_object_get(h, "id")));
                bool ours = false;
                for (int m = 0; m < NHEAPS; m++)
                    ours |= strcmp(heap_id[m], json_string_value(json_object_get(h, "id"))) == 0;
                if (ours)
                    continue;
                hl_api_request d = {.method = "DELETE", .path = path, .authorization = "Bearer " ADMIN};
                hl_api_handle(api, &d, &out);
                hl_api_response_free(&out);
            }
            json_decref(j);
            if (!make_heap(i))
                abort();
        }
    return 0;
}
