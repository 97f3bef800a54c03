/* tsan_api.c — api.h under ThreadSanitizer: "Thread-safe: any number of
 * threads may call it at once; requests on different heaps run in
 * parallel", and SSE streams are read, notified and closed from other
 * threads than the ones appending events.
 *
 * Threads (all at once, for ROUNDS rounds each):
 *   own[OWN]      one heap each: create, ref cycles, batch, collect, list,
 *                 memory, events, check
 *   shared[SHR]   one heap together: batch, refs, gc config, freeze,
 *                 collect, names, objects listing, check
 *   streams[STR]  open SSE streams on the shared heap and on the own
 *                 heaps, read them until they have seen bytes, waiting on
 *                 the notify callback (a condition variable), close them
 *   churn         creates heaps, opens a stream on them, deletes them
 *                 while the stream is open (its read must end with -1),
 *                 lists heaps and reads hl_api_get_stats
 * then hl_api_shutdown_streams with streams still open, whose reads must
 * end with -1.  The api keeps its heaps in a scratch data directory
 * (everysec, a snapshot every 4 KiB of journal), so journal commits, the
 * store's fsync thread, snapshots and heap deletion race with all of it.
 *
 * A failure is a wrong status or stream behaviour; TSan reports abort the
 * run (TSAN_OPTIONS=halt_on_error=1).  Prints "tsan: N passed, N failed",
 * one count per thread and one for the shutdown check.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"

#define ADMIN "tsan-admin"
#define OWN 4
#define SHR 3
#define STR 3
#ifndef ROUNDS
#define ROUNDS 150
#endif

static hl_api *api;

typedef struct heap_ref {
    char id[80], token[80], base[120];
} heap_ref;

static heap_ref own_heaps[OWN], shared_heap;

typedef struct worker {
    const char *name;
    int index;
    int failures;
    char first_failure[300];
} worker;

static void failf(worker *w, const char *fmt, const char *a, int b)
{
    if (w->failures++ == 0)
        snprintf(w->first_failure, sizeof w->first_failure, fmt, a, b);
}

static int req(const char *method, const char *path, const char *token, const char *body, const char *accept,
               hl_api_response *keep)
{
    char auth[128], target[256];
    snprintf(auth, sizeof auth, "Bearer %s", token);
    snprintf(target, sizeof target, "%s", path);
    char *q = strchr(target, '?');
    if (q != NULL)
        *q++ = '\0';
    hl_api_request rq = {.method = method, .path = target, .query = q, .authorization = auth, .accept = accept,
                         .body = body, .body_len = body ? strlen(body) : 0};
    hl_api_response out;
    hl_api_handle(api, &rq, &out);
    int st = out.status;
    if (keep != NULL)
        *keep = out;
    else
        hl_api_response_free(&out);
    return st;
}

#define EXPECT(w, st, want, what)                                                                                  \
    do {                                                                                                           \
        int s_ = (st);                                                                                             \
        if (s_ != (want))                                                                                          \
            failf(w, "%s -> %d", what, s_);                                                                        \
    } while (0)

static bool new_heap(heap_ref *h)
{
    hl_api_response out;
    if (req("POST", "/v1/heaps", ADMIN, "{\"gc\": {\"thresholds\": [20, 2, 2]}}", NULL, &out) != 201)
        return false;
    json_t *j = json_loads(out.body, 0, NULL);
    hl_api_response_free(&out);
    snprintf(h->id, sizeof h->id, "%s", json_string_value(json_object_get(j, "id")));
    snprintf(h->token, sizeof h->token, "%s", json_string_value(json_object_get(j, "token")));
    snprintf(h->base, sizeof h->base, "/v1/heaps/%s", h->id);
    json_decref(j);
    return true;
}

static char *path(char *buf, const heap_ref *h, const char *rest)
{
    snprintf(buf, 200, "%s%s", h->base, rest);
    return buf;
}

/* ---- a stream reader woken by notify ---- */

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool woken;
    atomic_int notifies;
} waiter;

static void notify(void *ctx)
{
    waiter *wt = ctx;
    atomic_fetch_add(&wt->notifies, 1);
    pthread_mutex_lock(&wt->mu);
    wt->woken = true;
    pthread_cond_signal(&wt->cv);
    pthread_mutex_unlock(&wt->mu);
}

static void waiter_init(waiter *wt)
{
    pthread_mutex_init(&wt->mu, NULL);
    pthread_cond_init(&wt->cv, NULL);
    wt->woken = false;
    atomic_init(&wt->notifies, 0);
}

static void waiter_free(waiter *wt)
{
    pthread_mutex_destroy(&wt->mu);
    pthread_cond_destroy(&wt->cv);
}

/* Waits for a notify for up to ms; returns whether one came. */
static bool wait_notify(waiter *wt, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&wt->mu);
    while (!wt->woken)
        if (pthread_cond_timedwait(&wt->cv, &wt->mu, &ts) != 0)
            break;
    bool got = wt->woken;
    wt->woken = false;
    pthread_mutex_unlock(&wt->mu);
    return got;
}

/* Reads a stream until it has delivered min bytes, ended (-1), or waited
 * max_waits times; returns the bytes read, -1 if it ended. */
static long drain(hl_api_stream *s, waiter *wt, long min, int max_waits)
{
    char buf[700];
    long total = 0;
    for (int waits = 0;;) {
        ssize_t n = hl_api_stream_read(s, buf, sizeof buf);
        if (n < 0)
            return -1;
        if (n > 0) {
            total += n;
            if (total >= min)
                return total;
            continue;
        }
        if (waits++ >= max_waits)
            return total;
        wait_notify(wt, 20);
    }
}

/* ---- workers ---- */

static void *own_worker(void *arg)
{
    worker *w = arg;
    heap_ref *h = &own_heaps[w->index];
    char p[200], body[400];
    for (int i = 0; i < ROUNDS; i++) {
        snprintf(body, sizeof body, "{\"type\": \"list\", \"name\": \"l%d\"}", i % 7);
        EXPECT(w, req("POST", path(p, h, "/objects"), h->token, body, NULL, NULL), 201, "create list");
        snprintf(body, sizeof body,
                 "{\"ops\": [{\"op\": \"create\", \"type\": \"instance\", \"finalizer\": true, \"name\": \"o\"},"
                 "{\"op\": \"create\", \"type\": \"dict\", \"items\": {\"self\": \"$0\"}, \"name\": \"d\"},"
                 "{\"op\": \"ref\", \"id\": \"$0\", \"attr\": \"d\", \"target\": \"$1\"},"
                 "{\"op\": \"weakref\", \"target\": \"$0\", \"callback\": true, \"name\": \"w%d\"},"
                 "{\"op\": \"unbind\", \"name\": \"o\"}, {\"op\": \"unbind\", \"name\": \"d\"}]}",
                 i % 5);
        EXPECT(w, req("POST", path(p, h, "/batch"), h->token, body, NULL, NULL), 200, "batch");
        if (i % 10 == 0)
            EXPECT(w, req("POST", path(p, h, "/gc/collect"), h->token, "{\"generation\": 2}", NULL, NULL), 200,
                   "collect");
        EXPECT(w, req("GET", path(p, h, "/objects?limit=50"), h->token, NULL, NULL, NULL), 200, "list objects");
        if (i % 4 == 0) {
            EXPECT(w, req("GET", path(p, h, "/memory"), h->token, NULL, NULL, NULL), 200, "memory");
            EXPECT(w, req("GET", path(p, h, "/events?since=0&limit=20"), h->token, NULL, NULL, NULL), 200,
                   "events");
            EXPECT(w, req("GET", path(p, h, "/check"), ADMIN, NULL, NULL, NULL), 200, "check");
        }
    }
    return NULL;
}

static void *shared_worker(void *arg)
{
    worker *w = arg;
    heap_ref *h = &shared_heap;
    char p[200], body[400];
    for (int i = 0; i < ROUNDS; i++) {
        snprintf(body, sizeof body,
                 "{\"ops\": [{\"op\": \"create\", \"type\": \"list\", \"name\": \"t%d\"},"
                 "{\"op\": \"ref\", \"id\": \"$0\", \"target\": \"$0\"},"
                 "{\"op\": \"create\", \"type\": \"str\", \"value\": \"v%d\", \"name\": \"s%d\"},"
                 "{\"op\": \"ref\", \"id\": \"$0\", \"target\": \"$2\"},"
                 "{\"op\": \"unbind\", \"name\": \"t%d\"}, {\"op\": \"unbind\", \"name\": \"s%d\"}]}",
                 w->index, i, w->index, w->index, w->index);
        EXPECT(w, req("POST", path(p, h, "/batch"), h->token, body, NULL, NULL), 200, "shared batch");
        switch (i % 6) {
        case 0:
            EXPECT(w, req("POST", path(p, h, "/gc/collect"), h->token, NULL, NULL, NULL), 200, "shared collect");
            break;
        case 1:
            EXPECT(w, req("PATCH", path(p, h, "/gc"), h->token, "{\"thresholds\": [10, 3]}", NULL, NULL), 200,
                   "gc config");
            break;
        case 2:
            /* freeze and unfreeze: another thread may have frozen in between, both answer 200 */
            EXPECT(w, req("POST", path(p, h, w->index % 2 ? "/gc/freeze" : "/gc/unfreeze"), h->token, NULL, NULL,
                          NULL),
                   200, "freeze/unfreeze");
            break;
        case 3:
            EXPECT(w, req("GET", path(p, h, "/names"), h->token, NULL, NULL, NULL), 200, "names");
            break;
        case 4:
            EXPECT(w, req("GET", path(p, h, "/objects?type=list&limit=20"), h->token, NULL, NULL, NULL), 200,
                   "shared objects");
            break;
        default:
            EXPECT(w, req("GET", path(p, h, "/check"), ADMIN, NULL, NULL, NULL), 200, "shared check");
            EXPECT(w, req("GET", h->base, h->token, NULL, NULL, NULL), 200, "get heap");
        }
    }
    return NULL;
}

static void *stream_worker(void *arg)
{
    worker *w = arg;
    waiter wt;
    waiter_init(&wt);
    char p[200];
    int opened = 0;
    for (int i = 0; i < ROUNDS / 3; i++) {
        heap_ref *h = (i + w->index) % 2 ? &shared_heap : &own_heaps[(i + w->index) % OWN];
        hl_api_response out;
        /* since=0: replays the ring, so there is always something to read */
        int st = req("GET", path(p, h, i % 3 ? "/events?since=0" : "/events"), h->token, NULL, "text/event-stream",
                     &out);
        if (st != 200 || out.stream == NULL) {
            failf(w, "open stream -> %s %d", out.stream ? "stream" : "no stream", st);
            hl_api_response_free(&out);
            continue;
        }
        opened++;
        hl_api_stream_set_notify(out.stream, notify, &wt);
        long got = drain(out.stream, &wt, i % 3 ? 1 : 200, 25);
        if (i % 3 && got == 0)
            failf(w, "stream with since=0 delivered nothing (%s%d)", "", 0);
        hl_api_stream_close(out.stream);
        hl_api_response_free(&out);
    }
    if (atomic_load(&wt.notifies) == 0 && opened > 0)
        failf(w, "no notify callback ever came (%s%d opened)", "", opened);
    waiter_free(&wt);
    return NULL;
}

static void *churn_worker(void *arg)
{
    worker *w = arg;
    waiter wt;
    waiter_init(&wt);
    char p[200];
    for (int i = 0; i < ROUNDS / 4; i++) {
        heap_ref h;
        if (!new_heap(&h)) {
            failf(w, "create heap%s %d", "", i);
            continue;
        }
        hl_api_response out;
        int st = req("GET", path(p, &h, "/events"), h.token, NULL, "text/event-stream", &out);
        EXPECT(w, req("POST", path(p, &h, "/objects"), h.token, "{\"type\": \"set\", \"name\": \"s\"}", NULL, NULL),
               201, "churn create");
        EXPECT(w, req("GET", "/v1/heaps", ADMIN, NULL, NULL, NULL), 200, "list heaps");
        hl_api_stats stats;
        hl_api_get_stats(api, &stats);
        EXPECT(w, req("DELETE", h.base, ADMIN, NULL, NULL, NULL), 204, "delete heap");
        if (st == 200 && out.stream != NULL) {
            hl_api_stream_set_notify(out.stream, notify, &wt);
            if (drain(out.stream, &wt, 1L << 30, 50) != -1)
                failf(w, "a stream of a deleted heap did not end%s (%d)", "", i);
            hl_api_stream_close(out.stream);
        } else {
            failf(w, "open stream on a new heap%s -> %d", "", st);
        }
        hl_api_response_free(&out);
    }
    waiter_free(&wt);
    return NULL;
}

int main(void)
{
    /* Durable, with snapshots every few requests: the journal writes, the
     * everysec fsync thread and snapshot rotation race with every worker. */
    char dir[] = "/tmp/heaplab-tsan-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 2;
    hl_api_config cfg = {.admin_token = ADMIN, .event_ring = 500, .data_dir = dir, .fsync = 1,
                         .snapshot_after = 4096};
    api = hl_api_new(&cfg);
    if (api == NULL)
        return 2;
    for (int i = 0; i < OWN; i++)
        if (!new_heap(&own_heaps[i]))
            return 2;
    if (!new_heap(&shared_heap))
        return 2;

    enum { N = OWN + SHR + STR + 1 };
    worker ws[N];
    pthread_t th[N];
    memset(ws, 0, sizeof ws);
    int k = 0;
    for (int i = 0; i < OWN; i++, k++) {
        ws[k] = (worker){.name = "own-heap", .index = i};
        pthread_create(&th[k], NULL, own_worker, &ws[k]);
    }
    for (int i = 0; i < SHR; i++, k++) {
        ws[k] = (worker){.name = "shared-heap", .index = i};
        pthread_create(&th[k], NULL, shared_worker, &ws[k]);
    }
    for (int i = 0; i < STR; i++, k++) {
        ws[k] = (worker){.name = "stream", .index = i};
        pthread_create(&th[k], NULL, stream_worker, &ws[k]);
    }
    ws[k] = (worker){.name = "churn", .index = 0};
    pthread_create(&th[k], NULL, churn_worker, &ws[k]);
    int passed = 0, failed = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        if (ws[i].failures) {
            failed++;
            printf("FAIL %s[%d]: %d failures, first: %s\n", ws[i].name, ws[i].index, ws[i].failures,
                   ws[i].first_failure);
        } else {
            passed++;
            printf("ok   %s[%d]\n", ws[i].name, ws[i].index);
        }
    }

    /* shutdown with open streams: their reads end with -1, new ones are refused */
    hl_api_response s1, s2;
    char p[200];
    req("GET", path(p, &shared_heap, "/events"), shared_heap.token, NULL, "text/event-stream", &s1);
    req("GET", path(p, &own_heaps[0], "/events?since=0"), own_heaps[0].token, NULL, "text/event-stream", &s2);
    bool ok = s1.stream != NULL && s2.stream != NULL;
    waiter wt;
    waiter_init(&wt);
    if (ok) {
        hl_api_stream_set_notify(s1.stream, notify, &wt);
        hl_api_stream_set_notify(s2.stream, notify, &wt);
        pthread_t t;
        /* a writer keeps appending events while the streams shut down */
        worker wr = {.name = "writer", .index = 0};
        pthread_create(&t, NULL, own_worker, &wr);
        hl_api_shutdown_streams(api);
        ok = drain(s1.stream, &wt, 1L << 30, 50) == -1 && drain(s2.stream, &wt, 1L << 30, 50) == -1;
        pthread_join(t, NULL);
        hl_api_stream_close(s1.stream);
        hl_api_stream_close(s2.stream);
    }
    hl_api_response_free(&s1);
    hl_api_response_free(&s2);
    waiter_free(&wt);
    printf("%s shutdown with open streams\n", ok ? "ok  " : "FAIL");
    passed += ok;
    failed += !ok;
    hl_api_delete(api);
    char rm[64];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    if (system(rm) != 0)
        printf("note: could not remove %s\n", dir);
    printf("tsan: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
