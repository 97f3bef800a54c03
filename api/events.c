/* events.c — the per-heap event ring; see events.h. */
#include "events.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static const char *const kind_names[] = {
    [HL_EV_FREE] = "free",
    [HL_EV_COLLECT] = "collect",
    [HL_EV_FINALIZE] = "finalize",
    [HL_EV_WEAKREF_CALLBACK] = "weakref_callback",
    [HL_EV_RESURRECT] = "resurrect",
};

/* The ring is mapped, not malloc'd: at 10,000 events it is 1.5 MB per heap,
 * and memory from malloc stays with the process after a heap is deleted,
 * while an unmapped ring goes back to the system. */
bool hl_evring_init(hl_evring *r, size_t cap)
{
    memset(r, 0, sizeof *r);
    void *p = mmap(NULL, cap * sizeof *r->recs, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return false;
    r->recs = p;
    r->cap = cap;
    r->next_seq = 1;
    r->base_seq = 1;
    return true;
}

void hl_evring_free(hl_evring *r)
{
    if (r->recs != NULL)
        munmap(r->recs, r->cap * sizeof *r->recs);
    r->recs = NULL;
}

static hl_evrec *slot(const hl_evring *r, uint64_t seq)
{
    return &r->recs[seq % r->cap];
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void add_id(hl_evrec *e, uint64_t id)
{
    if (e->nids < HL_EVENT_IDS)
        e->ids[e->nids++] = id;
    if (e->count == 0 || id < e->id_min)
        e->id_min = id;
    if (e->count == 0 || id > e->id_max)
        e->id_max = id;
    e->count++;
}

void hl_evring_push(hl_evring *r, const hl_event *ev)
{
    if (ev->kind == HL_EV_FREE && r->fold_open && r->next_seq > 1) {
        hl_evrec *last = slot(r, r->next_seq - 1);
        if (last->kind == HL_EV_FREE) {
            add_id(last, ev->id);
            return;
        }
    }
    hl_evrec *e = slot(r, r->next_seq);
    memset(e, 0, sizeof *e);
    e->seq = r->next_seq++;
    e->kind = (uint8_t)ev->kind;
    e->type = (uint8_t)ev->type;
    e->time_ms = now_ms();
    e->generation = -1;
    if (ev->kind == HL_EV_COLLECT && ev->collect != NULL) {
        e->generation = (int8_t)ev->collect->generation;
        e->automatic = ev->collect->automatic;
        e->collected = ev->collect->collected;
        e->uncollectable = ev->collect->uncollectable;
        e->examined = ev->collect->examined;
        e->duration_ns = ev->collect->duration_ns;
    } else {
        add_id(e, ev->id);
        e->target = ev->target;
    }
    r->fold_open = true;
}

void hl_evring_seal(hl_evring *r)
{
    r->fold_open = false;
}

uint64_t hl_evring_first_seq(const hl_evring *r)
{
    uint64_t first = r->next_seq > r->cap ? r->next_seq - r->cap : 1;
    return first > r->base_seq ? first : r->base_seq;
}

void hl_evring_restart_at(hl_evring *r, uint64_t seq)
{
    r->next_seq = seq;
    r->base_seq = seq;
    r->fold_open = false;
}

const hl_evrec *hl_evring_get(const hl_evring *r, uint64_t seq)
{
    if (seq < hl_evring_first_seq(r) || seq >= r->next_seq)
        return NULL;
    return slot(r, seq);
}

const hl_evrec *hl_evring_find_free(const hl_evring *r, uint64_t id)
{
    for (uint64_t seq = r->next_seq; seq-- > hl_evring_first_seq(r);) {
        const hl_evrec *e = slot(r, seq);
        if (e->kind != HL_EV_FREE || id < e->id_min || id > e->id_max)
            continue;
        if (e->count <= HL_EVENT_IDS) {
            for (int i = 0; i < e->nids; i++)
                if (e->ids[i] == id)
                    return e;
            continue;
        }
        /* A folded record only knows its range: a likely match. */
        return e;
    }
    return NULL;
}

json_t *hl_evrec_json(const hl_evrec *e)
{
    json_t *j = json_object();
    json_object_set_new(j, "seq", json_integer((json_int_t)e->seq));
    json_object_set_new(j, "kind", json_string(kind_names[e->kind]));
    json_object_set_new(j, "time_ms", json_integer(e->time_ms));
    json_t *ids = json_array();
    for (int i = 0; i < e->nids; i++)
        json_array_append_new(ids, json_integer((json_int_t)e->ids[i]));
    json_object_set_new(j, "ids", ids);
    switch ((hl_event_kind)e->kind) {
    case HL_EV_FREE:
        json_object_set_new(j, "count", json_integer((json_int_t)e->count));
        if (e->count > 1) {
            json_object_set_new(j, "id_min", json_integer((json_int_t)e->id_min));
            json_object_set_new(j, "id_max", json_integer((json_int_t)e->id_max));
        }
        if (e->count == 1)
            json_object_set_new(j, "type", json_string(hl_type_name((hl_type)e->type)));
        break;
    case HL_EV_COLLECT:
        json_object_set_new(j, "generation", json_integer(e->generation));
        json_object_set_new(j, "automatic", json_boolean(e->automatic));
        json_object_set_new(j, "collected", json_integer((json_int_t)e->collected));
        json_object_set_new(j, "uncollectable", json_integer((json_int_t)e->uncollectable));
        json_object_set_new(j, "examined", json_integer((json_int_t)e->examined));
        json_object_set_new(j, "duration_us", json_integer((json_int_t)(e->duration_ns / 1000)));
        break;
    case HL_EV_WEAKREF_CALLBACK:
        json_object_set_new(j, "target", json_integer((json_int_t)e->target));
        break;
    default:
        break;
    }
    return j;
}
