/* test_events.c — GET /events (kinds, order, since=, folding, the missed
 * range) and live Server-Sent Event streams. */
#include <pthread.h>
#include <stdatomic.h>

#include "apitest.h"

#define U(x) ((unsigned long long)(x))

/* The kinds of the events as one string: "finalize,weakref_callback,free". */
static const char *kinds(json_t *events)
{
    char *s = t_fmt("%s", "");
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) s = t_fmt("%s%s%s", s, i ? "," : "", t_str(e, "kind"));
    return s;
}

START_TEST(event_shapes_and_order)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    t_resp empty = t_h(&h, "GET", "/events", NULL, NULL);
    t_expect(empty, 200);
    ck_assert_int_eq(json_array_size(t_get(empty.json, "events")), 0);
    ck_assert_int_eq(t_int(empty.json, "next"), 1);
    ck_assert(json_object_get(empty.json, "missed") == NULL);

    /* del o: __del__ runs, then the weakref callback, then the free */
    uint64_t o = t_create(&h, "{\"type\": \"instance\", \"finalizer\": true, \"name\": \"o\"}");
    t_resp w = t_h(&h, "POST", "/weakrefs", NULL, t_fmt("{\"target\": %llu, \"callback\": true, \"name\": \"w\"}", U(o)));
    uint64_t wid = (uint64_t)t_int(w.json, "id");
    t_unbind(&h, "o");
    json_t *ev = t_events(&h, 0);
    ck_assert_str_eq(kinds(ev), "finalize,weakref_callback,free");
    json_t *fin = json_array_get(ev, 0), *cb = json_array_get(ev, 1), *fr = json_array_get(ev, 2);
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(ev, i);
        ck_assert_int_eq(t_int(e, "seq"), (json_int_t)i + 1);
        ck_assert_int_gt(t_int(e, "time_ms"), 0);
    }
    ck_assert(t_array_has(t_get(fin, "ids"), (json_int_t)o));
    ck_assert(t_array_has(t_get(cb, "ids"), (json_int_t)wid));
    ck_assert_int_eq(t_int(cb, "target"), o);
    ck_assert_int_eq(t_int(fr, "count"), 1);
    ck_assert_str_eq(t_str(fr, "type"), "instance");
    ck_assert(t_array_has(t_get(fr, "ids"), (json_int_t)o));

    /* a cycle: the collector runs callbacks, then finalizers, then frees */
    uint64_t c = t_create(&h, "{\"type\": \"instance\", \"finalizer\": true, \"name\": \"c\"}");
    t_ref(&h, c, t_fmt("{\"attr\": \"self\", \"target\": %llu}", U(c)));
    t_h(&h, "POST", "/weakrefs", NULL, t_fmt("{\"target\": %llu, \"callback\": true, \"name\": \"w\"}", U(c)));
    uint64_t seq = t_next_seq(&h);
    t_unbind(&h, "c");
    t_collect(&h);
    json_t *ev2 = t_events(&h, seq);
    ck_assert_str_eq(kinds(ev2), "weakref_callback,finalize,free,collect");
    json_t *col = json_array_get(ev2, 3);
    ck_assert_int_eq(t_int(col, "generation"), 2);
    ck_assert(!t_bool(col, "automatic"));
    ck_assert_int_ge(t_int(col, "collected"), 1);
    ck_assert_int_eq(t_int(col, "uncollectable"), 0);
    ck_assert_int_ge(t_int(col, "examined"), 1);
    ck_assert_int_ge(t_int(col, "duration_us"), 0);
    ck_assert_int_eq(json_array_size(t_get(col, "ids")), 0);
}
END_TEST

START_TEST(since_and_limit)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t ids[5];
    for (int i = 0; i < 5; i++) {
        ids[i] = t_create(&h, t_fmt("{\"type\": \"list\", \"name\": \"l%d\"}", i));
    }
    for (int i = 0; i < 5; i++)
        t_unbind(&h, t_fmt("l%d", i));   /* five requests, five free events */
    json_t *all = t_events(&h, 0);
    ck_assert_int_eq(json_array_size(all), 5);
    for (int i = 0; i < 5; i++)
        ck_assert(t_array_has(t_get(json_array_get(all, (size_t)i), "ids"), (json_int_t)ids[i]));
    json_t *tail = t_events(&h, 4);
    ck_assert_int_eq(json_array_size(tail), 2);
    ck_assert_int_eq(t_int(json_array_get(tail, 0), "seq"), 4);
    t_resp lim = t_h(&h, "GET", "/events", "since=2&limit=2", NULL);
    t_expect(lim, 200);
    ck_assert_int_eq(json_array_size(t_get(lim.json, "events")), 2);
    ck_assert_int_eq(t_int(lim.json, "next"), 4);
    t_resp none = t_h(&h, "GET", "/events", "since=6", NULL);
    ck_assert_int_eq(json_array_size(t_get(none.json, "events")), 0);
    ck_assert_int_eq(t_int(none.json, "next"), 6);
    static const char *const bad[] = {"since=-1", "since=x", "limit=0", "limit=10001", "limit=y"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        t_expect_problem(t_h(&h, "GET", "/events", bad[i], NULL), 400, "invalid-query");
    t_resp m = t_h(&h, "DELETE", "/events", NULL, NULL);
    t_expect_problem(m, 405, "method-not-allowed");
    ck_assert_str_eq(m.allow, "GET");
}
END_TEST

START_TEST(chain_free_folds)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    /* x -> l999 -> ... -> l0: each create rebinds x, the new list holds the old */
    const int n = 1000;
    size_t cap = (size_t)n * 80 + 64, len = 0;
    char *body = t_keep(malloc(cap));
    len += (size_t)snprintf(body + len, cap - len, "{\"ops\": [{\"op\":\"create\",\"type\":\"list\",\"name\":\"x\"}");
    for (int i = 1; i < n; i++)
        len += (size_t)snprintf(body + len, cap - len,
                                ",{\"op\":\"create\",\"type\":\"list\",\"items\":[\"$%d\"],\"name\":\"x\"}", i - 1);
    len += (size_t)snprintf(body + len, cap - len, "]}");
    t_resp b = t_req_full(api, "POST", t_fmt("%s/batch", h.base), NULL, t_fmt("Bearer %s", h.token), NULL, body, len);
    t_expect(b, 200);
    uint64_t first = (uint64_t)t_int(json_array_get(t_get(b.json, "results"), 0), "id");
    uint64_t last = (uint64_t)t_int(json_array_get(t_get(b.json, "results"), (size_t)n - 1), "id");
    t_expect_rc(&h, first, 1);
    uint64_t seq = t_next_seq(&h);
    t_unbind(&h, "x");
    json_t *ev = t_events(&h, seq);
    ck_assert_int_eq(json_array_size(ev), 1);
    json_t *f = json_array_get(ev, 0);
    ck_assert_str_eq(t_str(f, "kind"), "free");
    ck_assert_int_eq(t_int(f, "count"), n);
    ck_assert_int_eq(json_array_size(t_get(f, "ids")), 8);
    ck_assert_int_eq(t_int(f, "id_min"), first);
    ck_assert_int_eq(t_int(f, "id_max"), last);
    /* every member of the chain reports that event */
    t_resp g = t_h(&h, "GET", t_fmt("/objects/%llu", U(first + 500)), NULL, NULL);
    t_expect_problem(g, 404, "object-freed");
    ck_assert_int_eq(t_int(g.json, "freed_at_seq"), t_int(f, "seq"));
}
END_TEST

START_TEST(missed_range_when_ring_is_small)
{
    hl_api_config cfg = {.admin_token = T_ADMIN, .event_ring = 4};
    hl_api *api = t_api_current = t_api_with(&cfg);
    t_heap h = t_quiet_heap(api);
    uint64_t ids[10];
    for (int i = 0; i < 10; i++)
        ids[i] = t_create(&h, t_fmt("{\"type\": \"list\", \"name\": \"l%d\"}", i));
    for (int i = 0; i < 10; i++)
        t_unbind(&h, t_fmt("l%d", i));
    t_resp r = t_h(&h, "GET", "/events", "since=1", NULL);
    t_expect(r, 200);
    json_t *ev = t_get(r.json, "events");
    ck_assert_int_eq(json_array_size(ev), 4);
    ck_assert_int_eq(t_int(json_array_get(ev, 0), "seq"), 7);
    ck_assert_int_eq(t_int(r.json, "next"), 11);
    json_t *missed = t_get(r.json, "missed");
    ck_assert_int_eq(t_int(missed, "from"), 1);
    ck_assert_int_eq(t_int(missed, "to"), 6);
    /* since inside the ring: nothing missed */
    t_resp in = t_h(&h, "GET", "/events", "since=8", NULL);
    ck_assert(json_object_get(in.json, "missed") == NULL);
    ck_assert_int_eq(json_array_size(t_get(in.json, "events")), 3);
    /* an object whose free event fell out of the ring is still reported freed */
    t_resp old = t_h(&h, "GET", t_fmt("/objects/%llu", U(ids[0])), NULL, NULL);
    t_expect_problem(old, 404, "object-freed");
    ck_assert(json_object_get(old.json, "freed_at_seq") == NULL);
}
END_TEST

/* ---- Server-Sent Events ---- */

static atomic_int notified;

static void on_notify(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&notified, 1);
}

static hl_api_stream *open_stream(const t_heap *h, const char *query)
{
    t_resp r = t_req_full(h->api, "GET", t_fmt("%s/events", h->base), query, t_fmt("Bearer %s", h->token),
                          "text/event-stream", NULL, 0);
    t_expect(r, 200);
    ck_assert_str_eq(r.ctype, "text/event-stream");
    ck_assert_ptr_nonnull(r.stream);
    ck_assert_int_eq(r.len, 0);
    return r.stream;
}

/* Reads whatever the stream has now, in small pieces. */
static const char *drain(hl_api_stream *s, ssize_t *last)
{
    char *all = t_fmt("%s", "");
    char buf[37];
    ssize_t n;
    while ((n = hl_api_stream_read(s, buf, sizeof buf - 1)) > 0) {
        buf[n] = '\0';
        all = t_fmt("%s%s", all, buf);
    }
    *last = n;
    return all;
}

START_TEST(sse_delivers_new_events)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    uint64_t old = t_create(&h, "{\"type\": \"list\", \"name\": \"old\"}");
    t_unbind(&h, "old");   /* event 1: before the stream opens */
    hl_api_stream *s = open_stream(&h, NULL);
    atomic_store(&notified, 0);
    hl_api_stream_set_notify(s, on_notify, NULL);
    hl_api_stats st;
    hl_api_get_stats(api, &st);
    ck_assert_int_eq(st.streams_open, 1);

    char buf[256];
    ck_assert_int_eq(hl_api_stream_read(s, buf, sizeof buf), 0);   /* nothing new */

    uint64_t a = t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    t_unbind(&h, "a");
    ck_assert_int_gt(atomic_load(&notified), 0);
    ssize_t end;
    const char *text = drain(s, &end);
    ck_assert_int_eq(end, 0);
    const char *want = t_fmt("id: 2\nevent: free\ndata: {\"seq\":2,\"kind\":\"free\",");
    ck_assert_msg(strncmp(text, want, strlen(want)) == 0, "stream said: %s", text);
    ck_assert_msg(strstr(text, t_fmt("\"ids\":[%llu]", U(a))) != NULL, "%s", text);
    ck_assert(strstr(text, t_fmt("[%llu]", U(old))) == NULL);
    ck_assert_int_eq(strlen(text) - 2, strstr(text, "\n\n") - text);   /* one frame */
    /* the data line is the same JSON GET /events gives */
    const char *data = strstr(text, "data: ") + 6;
    json_t *frame = t_keepj(json_loadb(data, strlen(data) - 2, 0, NULL));
    ck_assert_ptr_nonnull(frame);
    ck_assert(json_equal(frame, json_array_get(t_events(&h, 2), 0)));

    /* a collection: one more frame, of kind collect */
    t_collect(&h);
    text = drain(s, &end);
    ck_assert_msg(strncmp(text, "id: 3\nevent: collect\ndata: {", 28) == 0, "%s", text);
    ck_assert_int_eq(hl_api_stream_read(s, buf, sizeof buf), 0);
    hl_api_stream_close(s);
    hl_api_get_stats(api, &st);
    ck_assert_int_eq(st.streams_open, 0);
}
END_TEST

START_TEST(sse_from_since_and_missed)
{
    hl_api_config cfg = {.admin_token = T_ADMIN, .event_ring = 4};
    hl_api *api = t_api_current = t_api_with(&cfg);
    t_heap h = t_quiet_heap(api);
    for (int i = 0; i < 6; i++) {
        t_create(&h, t_fmt("{\"type\": \"list\", \"name\": \"l%d\"}", i));
        t_unbind(&h, t_fmt("l%d", i));
    }
    hl_api_stream *s = open_stream(&h, "since=1");
    ssize_t end;
    const char *text = drain(s, &end);
    ck_assert_msg(strncmp(text, "event: missed\ndata: {\"from\":1,\"to\":2}\n\nid: 3\nevent: free\n", 55) == 0, "%s",
                  text);
    ck_assert(strstr(text, "id: 6\n") != NULL);
    hl_api_stream_close(s);

    hl_api_stream *s2 = open_stream(&h, "since=5");
    text = drain(s2, &end);
    ck_assert_msg(strncmp(text, "id: 5\n", 6) == 0, "%s", text);
    ck_assert(strstr(text, "id: 6\n") != NULL);
    hl_api_stream_close(s2);
}
END_TEST

START_TEST(sse_many_events_in_small_reads)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    hl_api_stream *s = open_stream(&h, NULL);
    for (int i = 0; i < 150; i++) {
        t_create(&h, t_fmt("{\"type\": \"list\", \"name\": \"l%d\"}", i));
        t_unbind(&h, t_fmt("l%d", i));
    }
    ssize_t end;
    const char *text = drain(s, &end);
    ck_assert_int_eq(end, 0);
    int frames = 0;
    for (const char *p = text; (p = strstr(p, "event: free\n")) != NULL; p++)
        frames++;
    ck_assert_int_eq(frames, 150);
    ck_assert(strstr(text, "id: 150\n") != NULL);
    hl_api_stream_close(s);
}
END_TEST

START_TEST(sse_ends_when_heap_deleted)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    hl_api_stream *s = open_stream(&h, NULL);
    atomic_store(&notified, 0);
    hl_api_stream_set_notify(s, on_notify, NULL);
    char buf[64];
    ck_assert_int_eq(hl_api_stream_read(s, buf, sizeof buf), 0);
    t_expect(t_h(&h, "DELETE", "", NULL, NULL), 204);
    ck_assert_int_gt(atomic_load(&notified), 0);
    ck_assert_int_eq(hl_api_stream_read(s, buf, sizeof buf), -1);
    ck_assert_int_eq(hl_api_stream_read(s, buf, sizeof buf), -1);
    hl_api_stream_close(s);
}
END_TEST

START_TEST(sse_shutdown_ends_streams)
{
    hl_api *api = t_api();
    t_heap a = t_quiet_heap(api), b = t_quiet_heap(api);
    hl_api_stream *sa = open_stream(&a, NULL), *sb = open_stream(&b, NULL);
    atomic_store(&notified, 0);
    hl_api_stream_set_notify(sa, on_notify, NULL);
    hl_api_stream_set_notify(sb, on_notify, NULL);
    hl_api_shutdown_streams(api);
    ck_assert_int_ge(atomic_load(&notified), 2);
    char buf[64];
    ck_assert_int_eq(hl_api_stream_read(sa, buf, sizeof buf), -1);
    ck_assert_int_eq(hl_api_stream_read(sb, buf, sizeof buf), -1);
    /* no new streams; plain requests still work */
    t_resp r = t_req_full(api, "GET", t_fmt("%s/events", a.base), NULL, t_fmt("Bearer %s", a.token),
                          "text/event-stream", NULL, 0);
    t_expect_problem(r, 503, "draining");
    ck_assert_ptr_null(r.stream);
    t_expect(t_h(&a, "GET", "/events", NULL, NULL), 200);
    hl_api_stream_close(sa);
    hl_api_stream_close(sb);
}
END_TEST

START_TEST(sse_closed_stream_is_not_notified)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    hl_api_stream *s = open_stream(&h, NULL);
    hl_api_stream *s2 = open_stream(&h, NULL);
    atomic_store(&notified, 0);
    hl_api_stream_set_notify(s, on_notify, NULL);
    hl_api_stream_close(s);
    t_create(&h, "{\"type\": \"list\", \"name\": \"a\"}");
    t_unbind(&h, "a");
    ck_assert_int_eq(atomic_load(&notified), 0);
    ssize_t end;
    ck_assert(strstr(drain(s2, &end), "event: free") != NULL);
    hl_api_stream_close(s2);
}
END_TEST

/* A reader thread blocked until notified sees every event of a writer
 * thread (no lost wake-ups). */
typedef struct reader_ctx {
    hl_api_stream *s;
    pthread_mutex_t m;
    pthread_cond_t c;
    int wakes;
    int frames;
    int want;
} reader_ctx;

static void wake_reader(void *ctx)
{
    reader_ctx *r = ctx;
    pthread_mutex_lock(&r->m);
    r->wakes++;
    pthread_cond_signal(&r->c);
    pthread_mutex_unlock(&r->m);
}

static void *reader(void *arg)
{
    reader_ctx *r = arg;
    char buf[512], prev = 0;
    int seen = 0;
    while (r->frames < r->want) {
        ssize_t n = hl_api_stream_read(r->s, buf, sizeof buf);
        if (n < 0)
            break;
        if (n > 0) {
            /* a frame ends with a blank line, which may straddle two reads */
            for (ssize_t i = 0; i < n; prev = buf[i++])
                r->frames += buf[i] == '\n' && prev == '\n';
            continue;
        }
        pthread_mutex_lock(&r->m);
        while (r->wakes == seen)
            pthread_cond_wait(&r->c, &r->m);
        seen = r->wakes;
        pthread_mutex_unlock(&r->m);
    }
    return NULL;
}

START_TEST(sse_reader_thread)
{
    hl_api *api = t_api();
    t_heap h = t_quiet_heap(api);
    reader_ctx rc = {.want = 200};
    pthread_mutex_init(&rc.m, NULL);
    pthread_cond_init(&rc.c, NULL);
    rc.s = open_stream(&h, NULL);
    hl_api_stream_set_notify(rc.s, wake_reader, &rc);
    pthread_t t;
    pthread_create(&t, NULL, reader, &rc);
    for (int i = 0; i < 200; i++) {
        t_create(&h, t_fmt("{\"type\": \"list\", \"name\": \"l%d\"}", i));
        t_unbind(&h, t_fmt("l%d", i));
    }
    pthread_join(t, NULL);
    ck_assert_int_eq(rc.frames, 200);
    hl_api_stream_close(rc.s);
    pthread_mutex_destroy(&rc.m);
    pthread_cond_destroy(&rc.c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api-events");
    TCase *tc = t_tcase("events", 30);
    tcase_add_test(tc, event_shapes_and_order);
    tcase_add_test(tc, since_and_limit);
    tcase_add_test(tc, chain_free_folds);
    tcase_add_test(tc, missed_range_when_ring_is_small);
    suite_add_tcase(s, tc);
    TCase *sse = t_tcase("sse", 30);
    tcase_add_test(sse, sse_delivers_new_events);
    tcase_add_test(sse, sse_from_since_and_missed);
    tcase_add_test(sse, sse_many_events_in_small_reads);
    tcase_add_test(sse, sse_ends_when_heap_deleted);
    tcase_add_test(sse, sse_shutdown_ends_streams);
    tcase_add_test(sse, sse_closed_stream_is_not_notified);
    tcase_add_test(sse, sse_reader_thread);
    suite_add_tcase(s, sse);
    return t_run(s);
}
