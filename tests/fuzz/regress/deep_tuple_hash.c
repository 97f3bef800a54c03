/* REGRESSION (issue 7): failed (crashed) before commit 031f640 fixed it;
 * guards that fix.  A reproducer that fails today starts with "KNOWN FAILING".
 *
 * deep_tuple_hash.c — hashing a deeply nested tuple recurses without
 * bound: core/object.c hash_tuple() -> hl_object_hash() -> hash_tuple() ...
 * one C frame pair per nesting level, while equal() next to it stops at
 * EQ_MAX_DEPTH.  A tuple nested ~100,000 deep (gcc -O1, 8 MiB stack; far
 * less under ASan) overflows the stack the moment it is hashed: as a set
 * item (POST objects type set), set.add (refs), set.remove.  Over HTTP one
 * batch request of that many "create tuple" ops (about 5 MB, under the
 * default 16M max-body) builds it, the next request hashes it: SIGSEGV
 * takes down the server and every heap in it.
 *
 * Passes when the api answers (any 4xx, or 201) instead of crashing, and
 * the heap still passes hl_heap_check.  CPython raises RecursionError
 * here; refusing with 400 or treating the hash as unhashable would do.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

#define DEPTH 120000

static int call(hl_api *api, const char *method, const char *path, const char *body, size_t len, json_t **out)
{
    hl_api_request rq = {.method = method, .path = path, .authorization = "Bearer t", .body = body,
                         .body_len = len};
    hl_api_response r;
    hl_api_handle(api, &rq, &r);
    if (out != NULL)
        *out = r.body ? json_loads(r.body, 0, NULL) : NULL;
    int st = r.status;
    hl_api_response_free(&r);
    return st;
}

int main(void)
{
    hl_api_config cfg = {.admin_token = "t"};
    hl_api *api = hl_api_new(&cfg);
    json_t *j;
    if (call(api, "POST", "/v1/heaps", NULL, 0, &j) != 201)
        return 2;
    char base[128], path[160];
    snprintf(base, sizeof base, "/v1/heaps/%s", json_string_value(json_object_get(j, "id")));
    json_decref(j);

    /* one batch: x = 1; then DEPTH times x = (x,) -- op i+1 holds op i's result "$i" */
    size_t cap = (size_t)DEPTH * 96 + 256, n = 0;
    char *body = malloc(cap);
    n += (size_t)snprintf(body + n, cap - n, "{\"ops\": [{\"op\": \"create\", \"type\": \"int\", \"value\": 1, \"name\": \"x\"}");
    for (int i = 0; i < DEPTH; i++)
        n += (size_t)snprintf(body + n, cap - n,
                              ",{\"op\": \"create\", \"type\": \"tuple\", \"items\": [\"$%d\"], \"name\": \"x\"}", i);
    n += (size_t)snprintf(body + n, cap - n, "]}");
    snprintf(path, sizeof path, "%s/batch", base);
    json_t *res = NULL;
    int st = call(api, "POST", path, body, n, &res);
    free(body);
    json_t *results = json_object_get(res, "results");
    json_int_t top = json_integer_value(json_object_get(json_array_get(results, json_array_size(results) - 1), "id"));
    json_decref(res);
    printf("batch of %d nested tuple creates (%zu bytes) -> %d\n", DEPTH, n, st);
    fflush(stdout);
    if (st != 200) {
        hl_api_delete(api);
        return 1;
    }

    /* hashing it: a set holding the outermost tuple */
    snprintf(path, sizeof path, "%s/objects", base);
    char set[128];
    snprintf(set, sizeof set, "{\"type\": \"set\", \"items\": [%lld], \"name\": \"s\"}", (long long)top);
    st = call(api, "POST", path, set, strlen(set), NULL);
    printf("set of the deep tuple -> %d\n", st);
    snprintf(path, sizeof path, "%s/check", base);
    int ck = call(api, "GET", path, NULL, 0, NULL);
    printf("check -> %d\n", ck);
    hl_api_delete(api);
    bool ok = (st == 201 || (st >= 400 && st < 500)) && ck == 200;
    printf("deep_tuple_hash: %s\n", ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}
