/* registry.c — heaps by id, references and locks; see registry.h. */
#include "registry.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "snapshots.h"
#include "store.h"
#include "stream.h"

bool hl_registry_init(hl_registry *r, const char *shard, uint64_t max_heaps, size_t event_ring)
{
    memset(r, 0, sizeof *r);
    if (pthread_rwlock_init(&r->lock, NULL) != 0)
        return false;
    hl_strmap_init(&r->heaps);
    r->shard = shard;
    r->max_heaps = max_heaps;
    r->event_ring = event_ring;
    return true;
}

static void entry_free(hl_api_heap *e)
{
    if (e->store != NULL)
        (void)hl_store_heap_release(e->store);
    hl_heap_delete(e->heap);
    hl_snapshots_free(e->snapshots);
    hl_evring_free(&e->events);
    pthread_mutex_destroy(&e->lock);
    free(e->name);
    free(e);
}

static bool drop_entry(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    hl_registry_unref(value);
    return true;
}

void hl_registry_free(hl_registry *r)
{
    hl_strmap_each(&r->heaps, drop_entry, NULL);
    hl_strmap_free(&r->heaps);
    pthread_rwlock_destroy(&r->lock);
}

static bool random_bytes(unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = getrandom(buf + got, n - got, 0);
        if (k <= 0)
            return false;
        got += (size_t)k;
    }
    return true;
}

/* Ids are short enough to type in a curl command: 10 characters of a
 * lower-case alphabet without look-alikes, behind the shard's prefix. */
static bool mint_id(const hl_registry *r, char *out)
{
    static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
    unsigned char raw[10];
    if (!random_bytes(raw, sizeof raw))
        return false;
    char *p = out;
    if (r->shard != NULL && r->shard[0] != '\0')
        p += snprintf(out, HL_HEAP_ID_MAX - 12, "%s-", r->shard);
    for (size_t i = 0; i < sizeof raw; i++)
        *p++ = alphabet[raw[i] % (sizeof alphabet - 1)];
    *p = '\0';
    return true;
}

static bool mint_token(char *out)
{
    unsigned char raw[32];
    if (!random_bytes(raw, sizeof raw))
        return false;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return true;
}

static hl_api_heap *entry_new(const hl_registry *r, const hl_heap_config *cfg, const char *name)
{
    hl_api_heap *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->name = strdup(name != NULL ? name : "");
    e->heap = hl_heap_new(cfg);
    bool ok = e->name != NULL && e->heap != NULL && hl_evring_init(&e->events, r->event_ring) &&
              pthread_mutex_init(&e->lock, NULL) == 0 && mint_token(e->token);
    if (!ok) {
        hl_heap_delete(e->heap);
        hl_evring_free(&e->events);
        free(e->name);
        free(e);
        return NULL;
    }
    atomic_init(&e->refs, 1);
    return e;
}

static hl_registry_status insert(hl_registry *r, hl_api_heap *e, const char *id, hl_api_heap **out);

hl_registry_status hl_registry_create(hl_registry *r, const hl_heap_config *cfg, const char *name,
                                      hl_api_heap **out)
{
    hl_api_heap *e = entry_new(r, cfg, name);
    if (e == NULL)
        return HL_REG_NOMEM;
    return insert(r, e, NULL, out);
}

hl_registry_status hl_registry_adopt(hl_registry *r, const char *id, const char *token, const char *name,
                                     const hl_heap_config *cfg, hl_api_heap **out)
{
    if (strlen(id) >= HL_HEAP_ID_MAX || strlen(token) != HL_TOKEN_HEX)
        return HL_REG_NOMEM;
    hl_api_heap *e = entry_new(r, cfg, name);
    if (e == NULL)
        return HL_REG_NOMEM;
    memcpy(e->token, token, HL_TOKEN_HEX + 1);
    return insert(r, e, id, out);
}

/* Enters e under id, or under a freshly minted id when id is NULL. */
static hl_registry_status insert(hl_registry *r, hl_api_heap *e, const char *id, hl_api_heap **out)
{
    hl_registry_status st = HL_REG_OK;
    pthread_rwlock_wrlock(&r->lock);
    if (r->max_heaps != 0 && r->heaps.live >= r->max_heaps) {
        st = HL_REG_FULL;
    } else if (id != NULL) {
        snprintf(e->id, sizeof e->id, "%s", id);
        if (hl_strmap_get(&r->heaps, e->id) != NULL || !hl_strmap_put(&r->heaps, e->id, e))
            st = HL_REG_NOMEM;
    } else {
        bool unique = false;
        for (int tries = 0; tries < 8 && !unique; tries++)
            unique = mint_id(r, e->id) && hl_strmap_get(&r->heaps, e->id) == NULL;
        if (!unique || !hl_strmap_put(&r->heaps, e->id, e))
            st = HL_REG_NOMEM;
    }
    if (st == HL_REG_OK) {
        hl_registry_ref(e);
        atomic_fetch_add(&r->created_total, 1);
    }
    pthread_rwlock_unlock(&r->lock);
    if (st != HL_REG_OK) {
        entry_free(e);
        return st;
    }
    *out = e;
    return HL_REG_OK;
}

void hl_registry_ref(hl_api_heap *e)
{
    atomic_fetch_add(&e->refs, 1);
}

void hl_registry_unref(hl_api_heap *e)
{
    if (atomic_fetch_sub(&e->refs, 1) == 1)
        entry_free(e);
}

hl_api_heap *hl_registry_open(hl_registry *r, const char *id)
{
    pthread_rwlock_rdlock(&r->lock);
    hl_api_heap *e = hl_strmap_get(&r->heaps, id);
    if (e != NULL)
        hl_registry_ref(e);
    pthread_rwlock_unlock(&r->lock);
    if (e == NULL)
        return NULL;
    pthread_mutex_lock(&e->lock);
    if (e->deleted) {
        pthread_mutex_unlock(&e->lock);
        hl_registry_unref(e);
        return NULL;
    }
    return e;
}

void hl_registry_close(hl_api_heap *e)
{
    hl_evring_seal(&e->events);
    hl_registry_wake_streams(e);
    pthread_mutex_unlock(&e->lock);
    hl_registry_unref(e);
}

bool hl_registry_remove(hl_registry *r, const char *id)
{
    pthread_rwlock_wrlock(&r->lock);
    hl_api_heap *e = hl_strmap_remove(&r->heaps, id);
    pthread_rwlock_unlock(&r->lock);
    if (e == NULL)
        return false;
    pthread_mutex_lock(&e->lock);
    e->deleted = true;
    hl_registry_wake_streams(e);
    pthread_mutex_unlock(&e->lock);
    atomic_fetch_add(&r->deleted_total, 1);
    hl_registry_unref(e);
    return true;
}

bool hl_token_matches(const char *expected, const char *presented)
{
    size_t n = strlen(expected);
    if (presented == NULL || strlen(presented) != n)
        return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(expected[i] ^ presented[i]);
    return diff == 0;
}

typedef struct each_ctx {
    hl_registry_visitor visit;
    void *ctx;
} each_ctx;

static bool each_entry(void *ctx, const char *key, void *value)
{
    (void)key;
    each_ctx *c = ctx;
    return c->visit(c->ctx, value);
}

void hl_registry_each(hl_registry *r, hl_registry_visitor visit, void *ctx)
{
    each_ctx c = {visit, ctx};
    pthread_rwlock_rdlock(&r->lock);
    hl_strmap_each(&r->heaps, each_entry, &c);
    pthread_rwlock_unlock(&r->lock);
}

uint64_t hl_registry_count(hl_registry *r)
{
    pthread_rwlock_rdlock(&r->lock);
    uint64_t n = r->heaps.live;
    pthread_rwlock_unlock(&r->lock);
    return n;
}

void hl_registry_wake_streams(hl_api_heap *e)
{
    for (hl_api_stream *s = e->streams; s != NULL; s = hl_stream_next(s))
        hl_stream_wake(s);
}
