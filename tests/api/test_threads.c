/* test_threads.c — api.h promises thread safety: many threads on their own
 * heaps, many threads on one heap, listing and deleting meanwhile. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "apitest.h"

#define THREADS 6
#define ROUNDS 150

typedef struct worker {
    hl_api *api;
    t_heap heap;
    int index;
    int failures;
} worker;

/* Requests made from threads must not use Check's assertions (they would
 * end the thread's test from another thread): count failures instead. */
static int raw(hl_api *api, const char *method, const char *path, const char *token, const char *body)
{
    char auth[128];
    snprintf(auth, sizeof auth, "Bearer %s", token);
    hl_api_request rq = {.method = method, .path = path, .authorization = auth, .body = body,
                         .body_len = body ? strlen(body) : 0};
    hl_api_response out;
    hl_api_handle(api, &rq, &out);
    int status = out.status;
    hl_api_response_free(&out);
    return status;
}

static void *own_heap(void *arg)
{
    worker *w = arg;
    char path[160], body[160];
    for (int i = 0; i < ROUNDS; i++) {
        snprintf(path, sizeof path, "%s/objects", w->heap.base);
        snprintf(body, sizeof body, "{\"type\": \"list\", \"name\": \"n%d\"}", i % 10);
        w->failures += raw(w->api, "POST", path, w->heap.token, body) != 201;
        snprintf(path, sizeof path, "%s/gc/collect", w->heap.base);
        if (i % 25 == 0)
            w->failures += raw(w->api, "POST", path, w->heap.token, NULL) != 200;
        snprintf(path, sizeof path, "%s/objects", w->heap.base);
        w->failures += raw(w->api, "GET", path, w->heap.token, NULL) != 200;
    }
    return NULL;
}

static void *shared_heap(void *arg)
{
    worker *w = arg;
    char path[160], body[256];
    snprintf(path, sizeof path, "%s/batch", w->heap.base);
    for (int i = 0; i < ROUNDS; i++) {
        snprintf(body, sizeof body,
                 "{\"ops\": [{\"op\": \"create\", \"type\": \"list\", \"name\": \"t%d\"},"
                 "{\"op\": \"ref\", \"id\": \"$0\", \"target\": \"$0\"},"
                 "{\"op\": \"unbind\", \"name\": \"t%d\"}]}",
                 w->index, w->index);
        w->failures += raw(w->api, "POST", path, w->heap.token, body) != 200;
    }
    return NULL;
}

static void *churn(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < ROUNDS / 3; i++) {
        hl_api_request rq = {.method = "POST", .path = "/v1/heaps"};
        hl_api_response out;
        hl_api_handle(w->api, &rq, &out);
        json_t *j = json_loads(out.body, 0, NULL);
        w->failures += out.status != 201;
        char path[128];
        snprintf(path, sizeof path, "/v1/heaps/%s", json_string_value(json_object_get(j, "id")));
        w->failures += raw(w->api, "GET", "/v1/heaps", T_ADMIN, NULL) != 200;
        w->failures += raw(w->api, "DELETE", path, T_ADMIN, NULL) != 204;
        json_decref(j);
        hl_api_response_free(&out);
    }
    return NULL;
}

START_TEST(parallel_requests)
{
    hl_api *api = t_api();
    t_heap shared = t_new_heap(api, "{\"gc\": {\"thresholds\": [50, 5, 5]}}");
    worker w[2 * THREADS + 1];
    pthread_t th[2 * THREADS + 1];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.api = api, .heap = t_new_heap(api, "{\"gc\": {\"thresholds\": [20, 5, 5]}}"), .index = i};
        pthread_create(&th[i], NULL, own_heap, &w[i]);
    }
    for (int i = THREADS; i < 2 * THREADS; i++) {
        w[i] = (worker){.api = api, .heap = shared, .index = i};
        pthread_create(&th[i], NULL, shared_heap, &w[i]);
    }
    w[2 * THREADS] = (worker){.api = api};
    pthread_create(&th[2 * THREADS], NULL, churn, &w[2 * THREADS]);
    for (int i = 0; i < 2 * THREADS + 1; i++)
        pthread_join(th[i], NULL);
    /* Concurrent requests must each be answered for their own path. */
    for (int i = 0; i < 2 * THREADS + 1; i++) {
        ck_assert_msg(w[i].failures == 0, "worker %d: %d failed requests", i, w[i].failures);
    }
    /* each worker's heap holds its ten names; the shared heap's cycles all go */
    for (int i = 0; i < THREADS; i++) {
        t_resp r = t_h(&w[i].heap, "GET", "/names", NULL, NULL);
        ck_assert_int_eq(json_object_size(t_get(r.json, "names")), 10);
    }
    t_collect(&shared);
    t_resp objs = t_h(&shared, "GET", "/objects", "type=list", NULL);
    ck_assert_int_eq(json_array_size(t_get(objs.json, "objects")), 0);
    t_resp names = t_h(&shared, "GET", "/names", NULL, NULL);
    ck_assert_int_eq(json_object_size(t_get(names.json, "names")), 0);
    hl_api_stats st;
    hl_api_get_stats(api, &st);
    ck_assert_int_eq(st.heaps, THREADS + 1);
    ck_assert_int_eq(st.heaps_deleted_total, ROUNDS / 3);
}
END_TEST

/* Many threads each asking for its own heap's resources: every answer
 * must be about the heap and resource the thread named.  The race this
 * looks for is narrow, so the threads keep going for a few seconds or
 * until one of them sees a wrong answer. */
#define ROUTER_SECONDS 4

static atomic_int router_wrong;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Is the answer to GET <heap><sub> about this worker's heap? */
static bool answer_is_mine(const worker *w, const char *sub, json_t *j)
{
    if (j == NULL)
        return false;
    if (sub[0] == '\0')
        return strcmp(json_string_value(json_object_get(j, "id")), w->heap.id) == 0;
    if (strcmp(sub, "/gc") == 0)   /* each heap has its own first threshold */
        return json_integer_value(json_array_get(json_object_get(j, "thresholds"), 0)) == 100 + w->index;
    if (strcmp(sub, "/names") == 0) {   /* each heap has its own name bound */
        char name[16];
        snprintf(name, sizeof name, "h%d", w->index);
        json_t *names = json_object_get(j, "names");
        return json_object_size(names) == 1 && json_object_get(names, name) != NULL;
    }
    if (strcmp(sub, "/memory") == 0)
        return json_object_get(j, "arenas") != NULL;
    if (strcmp(sub, "/events") == 0)
        return json_object_get(j, "events") != NULL;
    return json_object_get(j, "objects") != NULL;
}

static void *own_paths(void *arg)
{
    worker *w = arg;
    static const char *const subs[] = {"/gc", "/names", "", "/events", "/objects", "/memory"};
    char path[1024], slashes[301], auth[128];
    memset(slashes, '/', 300);
    slashes[300] = '\0';
    snprintf(auth, sizeof auth, "Bearer %s", w->heap.token);
    double end = now_s() + ROUTER_SECONDS;
    for (int i = 0; atomic_load(&router_wrong) == 0 && (i % 256 != 0 || now_s() < end); i++) {
        const char *sub = subs[(i + w->index) % 6];
        /* redundant slashes are allowed; runs of them lengthen the split */
        snprintf(path, sizeof path, "/v1%s/heaps%s/%s%s/%s", slashes, slashes, w->heap.id, slashes, sub);
        hl_api_request rq = {.method = "GET", .path = path, .authorization = auth};
        hl_api_response out;
        hl_api_handle(w->api, &rq, &out);
        json_t *j = out.status == 200 ? json_loads(out.body, 0, NULL) : NULL;
        if (!answer_is_mine(w, sub, j)) {
            w->failures++;
            atomic_fetch_add(&router_wrong, 1);
        }
        json_decref(j);
        hl_api_response_free(&out);
    }
    return NULL;
}

START_TEST(router_is_reentrant)
{
    hl_api *api = t_api();
    worker w[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (worker){.api = api,
                        .heap = t_new_heap(api, t_fmt("{\"gc\": {\"thresholds\": [%d, 10, 10]}}", 100 + i)),
                        .index = i};
        t_create(&w[i].heap, t_fmt("{\"type\": \"list\", \"name\": \"h%d\"}", i));
    }
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, own_paths, &w[i]);
    int failures = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        failures += w[i].failures;
    }
    /* The router keeps no process-wide tokenizer state (no strtok). */
    ck_assert_msg(failures == 0, "%d concurrent requests were answered for the wrong path", failures);
}
END_TEST

/* Deterministic form of the same check: a reentrant router keeps no
 * process-wide tokenizer state, so a caller's own strtok() sequence
 * survives a request.  (If this fails, concurrent requests share that
 * state too: router_is_reentrant shows the consequence.) */
START_TEST(router_keeps_no_global_tokenizer_state)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    char mine[] = "first/second/third";
    ck_assert_str_eq(strtok(mine, "/"), "first");
    hl_api_request rq = {.method = "GET", .path = t_fmt("%s/gc", h.base), .authorization = t_fmt("Bearer %s", h.token)};
    hl_api_response out;
    hl_api_handle(api, &rq, &out);
    ck_assert_int_eq(out.status, 200);
    hl_api_response_free(&out);
    const char *next = strtok(NULL, "/");
    /* The router keeps no process-wide tokenizer state (no strtok). */
    ck_assert_msg(next != NULL && strcmp(next, "second") == 0, "the caller's strtok() continued with '%s'",
                  next ? next : "(null)");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api-threads");
    TCase *tc = t_tcase("threads", 100);
    tcase_add_test(tc, router_keeps_no_global_tokenizer_state);
    tcase_add_test(tc, router_is_reentrant);
    tcase_add_test(tc, parallel_requests);
    suite_add_tcase(s, tc);
    return t_run(s);
}
