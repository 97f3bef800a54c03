/* events.h — a heap's recent history, for GET /events and live streams.
 *
 * Promise: a bounded ring of events numbered by seq (1, 2, ...).  Frees
 * that follow one another within one operation fold into a single record
 * (a count, up to 8 ids and the id range), so freeing a million objects
 * costs one record, while finalize and weakref_callback records keep their
 * exact order.  The ring is guarded by its heap's lock.
 */
#ifndef HL_API_EVENTS_H
#define HL_API_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "heap.h"

#define HL_EVENT_IDS 8

typedef struct hl_evrec {
    uint64_t seq;
    uint8_t kind;        /* hl_event_kind */
    uint8_t type;        /* hl_type of the object freed or of the dead referent */
    uint8_t nids;
    bool automatic;
    int8_t generation;
    uint64_t ids[HL_EVENT_IDS];
    uint64_t count;      /* objects freed in a folded record */
    uint64_t id_min, id_max;
    uint64_t target;     /* weakref_callback: the object that died */
    uint64_t collected, uncollectable, examined, duration_ns;
    int64_t time_ms;     /* wall clock */
} hl_evrec;

typedef struct hl_evring {
    hl_evrec *recs;
    size_t cap;
    uint64_t next_seq;   /* seq of the next record */
    uint64_t base_seq;   /* the oldest seq this process recorded (events before a restart are gone) */
    bool fold_open;      /* the newest record may still absorb frees */
} hl_evring;

bool hl_evring_init(hl_evring *r, size_t cap);
void hl_evring_free(hl_evring *r);
void hl_evring_push(hl_evring *r, const hl_event *ev);
/* Ends folding: called when an operation completes. */
void hl_evring_seal(hl_evring *r);
uint64_t hl_evring_first_seq(const hl_evring *r);  /* oldest seq kept (next_seq if empty) */
/* Empties the ring and numbers its next record seq (a heap reloaded from disk). */
void hl_evring_restart_at(hl_evring *r, uint64_t seq);
const hl_evrec *hl_evring_get(const hl_evring *r, uint64_t seq); /* NULL if not kept */

json_t *hl_evrec_json(const hl_evrec *e);
/* The free record that mentions id, if the ring still has one (NULL if not). */
const hl_evrec *hl_evring_find_free(const hl_evring *r, uint64_t id);

#endif
