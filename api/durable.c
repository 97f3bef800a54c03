/* durable.c — see durable.h.
 *
 * A heap's files hold its meta (id, token, name, configuration with the
 * arena phase it took), then either nothing or a snapshot, then journal
 * records.  A snapshot's payload is "HLAPI001", the event ring's next seq,
 * the heap's version, then the core image.  Replaying the records runs the
 * same operations again with the event sink attached, so events get the
 * seqs they had the first time.
 */
#include "durable.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "image.h"
#include "oplog.h"
#include "store.h"

static const char snap_magic[8] = {'H', 'L', 'A', 'P', 'I', '0', '0', '1'};

static void say(const hl_api *api, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const hl_api *api, const char *fmt, ...)
{
    if (api->cfg.log == NULL)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    api->cfg.log(api->cfg.log_ctx, line);
}

static void record(void *ctx, const void *rec, size_t len)
{
    hl_api_heap *e = ctx;
    hl_store_append(e->store, rec, len);
}

static void attach(hl_api_heap *e, hl_store_heap *sh)
{
    e->store = sh;
    hl_heap_set_recorder(e->heap, record, e);
}

/* ---- meta ---- */

static char *meta_of(const hl_api_heap *e, size_t *len)
{
    hl_heap_config c;
    hl_heap_config_get(e->heap, &c);
    json_t *j = json_pack("{s:i,s:s,s:s,s:s,s:{s:I,s:I,s:[i,i,i],s:b,s:i,s:s}}", "format", 1, "id", e->id, "token",
                          e->token, "name", e->name, "config", "max_objects", (json_int_t)c.max_objects,
                          "max_bytes", (json_int_t)c.max_bytes, "thresholds", c.thresholds[0], c.thresholds[1],
                          c.thresholds[2], "gc_enabled", c.gc_enabled, "arena_phase", c.arena_phase, "profile",
                          hl_profile_name(c.profile));
    char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    *len = s != NULL ? strlen(s) : 0;
    return s;
}

typedef struct meta {
    const char *id, *token, *name;
    hl_heap_config cfg;
} meta;

static bool meta_parse(json_t *j, meta *m)
{
    json_t *c = json_object_get(j, "config"), *th = json_object_get(c, "thresholds");
    hl_heap_config_default(&m->cfg);
    m->id = json_string_value(json_object_get(j, "id"));
    m->token = json_string_value(json_object_get(j, "token"));
    m->name = json_string_value(json_object_get(j, "name"));
    if (m->id == NULL || m->token == NULL || strlen(m->token) != HL_TOKEN_HEX || m->name == NULL ||
        !json_is_object(c) || json_array_size(th) != 3)
        return false;
    m->cfg.max_objects = (uint64_t)json_integer_value(json_object_get(c, "max_objects"));
    m->cfg.max_bytes = (uint64_t)json_integer_value(json_object_get(c, "max_bytes"));
    for (int i = 0; i < 3; i++)
        m->cfg.thresholds[i] = (int)json_integer_value(json_array_get(th, (size_t)i));
    m->cfg.gc_enabled = json_is_true(json_object_get(c, "gc_enabled"));
    m->cfg.arena_phase = (int32_t)json_integer_value(json_object_get(c, "arena_phase"));
    const char *profile = json_string_value(json_object_get(c, "profile"));
    return profile == NULL || hl_profile_from_name(profile, &m->cfg.profile);
}

/* ---- rebuilding a heap from its files ---- */

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The heap as the snapshot left it (a fresh one without a snapshot). */
static hl_heap *base_heap(const hl_store_recovered *r, const meta *m, uint64_t *next_seq, uint64_t *version,
                          char *why, size_t cap)
{
    *next_seq = 1;
    *version = 0;
    if (r->snapshot == NULL) {
        hl_heap *h = hl_heap_new(&m->cfg);
        if (h == NULL)
            snprintf(why, cap, "out of memory");
        return h;
    }
    const unsigned char *p = r->snapshot;
    if (r->snapshot_len < 24 || memcmp(p, snap_magic, sizeof snap_magic) != 0) {
        snprintf(why, cap, "the snapshot is not a heaplab heap snapshot");
        return NULL;
    }
    *next_seq = get_u64(p + 8);
    *version = get_u64(p + 16);
    hl_heap *h = NULL;
    if (hl_image_load(p + 24, r->snapshot_len - 24, &h, why, cap) != HL_IMAGE_OK)
        return NULL;
    return h;
}

/* Applies the journal with the sink on the ring, so events come out again. */
static bool replay(hl_api_heap *e, const hl_store_recovered *r, char *why, size_t cap)
{
    hl_api_set_sink(e);
    for (size_t i = 0; i < r->nrecords; i++) {
        char w[200];
        if (hl_oplog_replay(e->heap, r->records[i], r->record_lens[i], w, sizeof w) != HL_REPLAY_OK) {
            snprintf(why, cap, "journal record %zu of %zu does not replay: %s", i + 1, r->nrecords, w);
            return false;
        }
        hl_evring_seal(&e->events);
    }
    e->version += r->nrecords;
    char w[200];
    if (!hl_heap_check(e->heap, w, sizeof w)) {
        snprintf(why, cap, "the rebuilt heap fails its check: %s", w);
        return false;
    }
    return true;
}

static hl_heap *rebuild(hl_api_heap *e, const hl_store_recovered *r, const meta *m, char *why, size_t cap)
{
    uint64_t next_seq, version;
    hl_heap *h = base_heap(r, m, &next_seq, &version, why, cap);
    if (h == NULL)
        return NULL;
    hl_heap *old = e->heap;
    e->heap = h;
    hl_evring_restart_at(&e->events, next_seq);
    e->version = version;
    if (!replay(e, r, why, cap)) {
        e->heap = old;
        hl_heap_delete(h);
        return NULL;
    }
    e->heap = old;
    return h;
}

static void mark_broken(hl_api *api, const char *id, const char *why)
{
    char *copy = strdup(why);
    if (copy != NULL && !hl_strmap_put(&api->broken, id, copy))
        free(copy);
    say(api, "heap %s NOT loaded: %s (its files are left as they are)", id, why);
}

static bool recover_one(void *ctx, const hl_store_recovered *r, hl_store_heap *handle)
{
    hl_api *api = ctx;
    char why[400] = "";
    if (r->corrupt_why != NULL) {
        mark_broken(api, r->id, r->corrupt_why);
        return false;
    }
    json_t *j = json_loadb(r->meta, r->meta_len, 0, NULL);
    meta m;
    hl_api_heap *e = NULL;
    bool ok = j != NULL && meta_parse(j, &m) && strcmp(m.id, r->id) == 0;
    if (!ok)
        snprintf(why, sizeof why, "its meta file is not valid");
    else if (hl_registry_adopt(&api->registry, m.id, m.token, m.name, &m.cfg, &e) != HL_REG_OK)
        snprintf(why, sizeof why, "out of memory or over the heap limit"), ok = false;
    hl_heap *h = ok ? rebuild(e, r, &m, why, sizeof why) : NULL;
    if (h == NULL) {
        if (e != NULL) {
            hl_registry_remove(&api->registry, e->id);
            hl_registry_unref(e);
        }
        json_decref(j);
        mark_broken(api, r->id, why);
        return false;
    }
    hl_heap_delete(e->heap);
    e->heap = h;
    hl_api_set_sink(e);
    attach(e, handle);
    if (r->torn_bytes > 0)
        say(api, "heap %s: cut a torn last record (%" PRIu64 " bytes) from its journal", r->id, r->torn_bytes);
    say(api, "heap %s loaded: %s + %zu journal records", r->id, r->snapshot ? "snapshot" : "no snapshot",
        r->nrecords);
    hl_registry_unref(e);
    json_decref(j);
    return true;
}

bool hl_durable_open(hl_api *api, char *why, size_t why_cap)
{
    hl_strmap_init(&api->broken);
    if (api->cfg.data_dir == NULL || api->cfg.data_dir[0] == '\0')
        return true;
    api->store = hl_store_open(api->cfg.data_dir, api->cfg.fsync, api->cfg.snapshot_after, why, why_cap);
    if (api->store == NULL)
        return false;
    hl_store_status st = hl_store_recover(api->store, recover_one, api);
    if (st != HL_STORE_OK) {
        snprintf(why, why_cap, "reading %s failed: %s", api->cfg.data_dir, hl_store_status_message(st));
        return false;
    }
    return true;
}

static bool free_reason(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    free(value);
    return true;
}

void hl_durable_close(hl_api *api)
{
    hl_strmap_each(&api->broken, free_reason, NULL);
    hl_strmap_free(&api->broken);
    if (api->store != NULL)
        hl_store_close(api->store);
    api->store = NULL;
}

const char *hl_durable_broken(hl_api *api, const char *id)
{
    return hl_strmap_get(&api->broken, id);
}

/* ---- requests ---- */

static void insufficient_storage(hl_api_response *out, hl_store_status st, const char *what)
{
    hl_problem(out, 507, "insufficient-storage", NULL,
               "%s could not be saved (%s); nothing was changed — try again once the server has disk space",
               what, hl_store_status_message(st));
}

bool hl_durable_created(hl_api *api, hl_api_heap *e, hl_api_response *out)
{
    if (api->store == NULL)
        return true;
    size_t len;
    char *m = meta_of(e, &len);
    hl_store_heap *sh = NULL;
    hl_store_status st = m != NULL ? hl_store_heap_create(api->store, e->id, m, len, &sh) : HL_STORE_NOMEM;
    free(m);
    if (st != HL_STORE_OK) {
        insufficient_storage(out, st, "the new heap");
        return false;
    }
    pthread_mutex_lock(&e->lock);
    attach(e, sh);
    pthread_mutex_unlock(&e->lock);
    return true;
}

bool hl_durable_deleting(hl_api *api, hl_api_heap *e, hl_api_response *out)
{
    if (api->store == NULL || e->store == NULL)
        return true;
    hl_store_status st = hl_store_heap_delete(e->store);
    if (st != HL_STORE_OK) {
        insufficient_storage(out, st, "the deletion");
        return false;
    }
    e->store = NULL;
    hl_heap_set_recorder(e->heap, NULL, NULL);
    return true;
}

void hl_durable_begin(hl_api_heap *e)
{
    e->seq_at_begin = e->events.next_seq;
    e->version_at_begin = e->version;
}

static bool snap_sink(void *ctx, const void *p, size_t n)
{
    return hl_store_snapshot_write(ctx, p, n) == HL_STORE_OK;
}

/* A snapshot is an optimisation: when it fails the journal still holds
 * everything, so it is logged and the request stands. */
static void snapshot(hl_api *api, hl_api_heap *e)
{
    hl_store_snap *w;
    hl_store_status st = hl_store_snapshot_begin(e->store, &w);
    if (st != HL_STORE_OK) {
        say(api, "heap %s: snapshot not started: %s", e->id, hl_store_status_message(st));
        return;
    }
    unsigned char head[24];
    memcpy(head, snap_magic, 8);
    memcpy(head + 8, &e->events.next_seq, 8);
    memcpy(head + 16, &e->version, 8);
    if (!snap_sink(w, head, sizeof head) || hl_image_save(e->heap, snap_sink, w) != HL_IMAGE_OK) {
        hl_store_snapshot_abort(w);
        say(api, "heap %s: snapshot failed; the journal goes on", e->id);
        return;
    }
    st = hl_store_snapshot_commit(w);
    if (st != HL_STORE_OK)
        say(api, "heap %s: snapshot not saved: %s; the journal goes on", e->id, hl_store_status_message(st));
}

/* The records could not be written: rebuild the heap from what its files
 * hold, which is its state before this request. */
typedef struct undo_ctx {
    hl_api *api;
    hl_api_heap *e;
    hl_heap *heap;
    char why[400];
} undo_ctx;

static bool undo_visit(void *ctx, const hl_store_recovered *r, hl_store_heap *handle)
{
    (void)handle;
    undo_ctx *u = ctx;
    meta m;
    hl_heap_config_get(u->e->heap, &m.cfg);
    hl_heap_set_recorder(u->e->heap, NULL, NULL);
    u->heap = r->corrupt_why == NULL ? rebuild(u->e, r, &m, u->why, sizeof u->why) : NULL;
    if (r->corrupt_why != NULL)
        snprintf(u->why, sizeof u->why, "%s", r->corrupt_why);
    return true;
}

static void undo(hl_api *api, hl_api_heap *e)
{
    undo_ctx u = {api, e, NULL, ""};
    uint64_t version = e->version_at_begin, base = e->events.base_seq, next = e->events.next_seq;
    hl_store_status st = hl_store_heap_reread(e->store, undo_visit, &u);
    if (st != HL_STORE_OK || u.heap == NULL) {
        e->events.next_seq = next;
        e->events.base_seq = base;
        /* Cannot happen unless the disk also fails to read: keep serving
         * what is in memory, and say so loudly. */
        say(api, "heap %s: could not undo a request that was not saved: %s", e->id,
            st != HL_STORE_OK ? hl_store_status_message(st) : u.why);
        hl_heap_set_recorder(e->heap, record, e);
        return;
    }
    hl_heap_delete(e->heap);
    e->heap = u.heap;
    /* The replay wrote the same events again; only this request's are dropped. */
    e->events.next_seq = e->seq_at_begin;
    e->events.base_seq = base;
    e->version = version;
    hl_api_set_sink(e);
    hl_heap_set_recorder(e->heap, record, e);
}

void hl_durable_finish(hl_api *api, hl_api_heap *e, hl_api_response *out)
{
    if (e->store == NULL)
        return;
    hl_store_status st = hl_store_commit(e->store);
    if (st != HL_STORE_OK) {
        undo(api, e);
        hl_api_response_free(out);
        memset(out, 0, sizeof *out);
        insufficient_storage(out, st, "this change");
        return;
    }
    if (hl_store_wants_snapshot(e->store))
        snapshot(api, e);
}
