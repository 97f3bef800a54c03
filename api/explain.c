/* explain.c — an explained collection as JSON; see explain.h. */
#include "explain.h"

static json_t *id_or_null(uint64_t id)
{
    return id != 0 ? json_integer((json_int_t)id) : json_null();
}

static json_t *object_json(const hl_gc_explain_object *o)
{
    return json_pack("{s:I,s:s,s:I,s:I,s:s,s:o}", "id", (json_int_t)o->id, "type", hl_type_name(o->type),
                     "refcount", (json_int_t)o->refcount, "gc_refs", (json_int_t)o->gc_refs, "verdict",
                     hl_gc_explain_verdict_name(o->verdict), "reachable_from", id_or_null(o->reachable_from));
}

/* A gc_refs step carries the new value; every other step a state, with
 * "by" where another object's traversal decided and "callback" for a
 * cleared weakref. */
static json_t *step_json(const hl_gc_explain_step *s)
{
    json_t *j = json_pack("{s:s,s:I}", "phase", hl_gc_explain_phase_name(s->phase), "id", (json_int_t)s->id);
    if (j == NULL)
        return NULL;
    if (s->state == HL_GC_EXPLAIN_STATE_GC_REFS) {
        json_object_set_new(j, "gc_refs", json_integer((json_int_t)s->gc_refs));
        return j;
    }
    json_object_set_new(j, "state", json_string(hl_gc_explain_state_name(s->state)));
    if (s->by != 0)
        json_object_set_new(j, "by", json_integer((json_int_t)s->by));
    if (s->state == HL_GC_EXPLAIN_STATE_CLEARED)
        json_object_set_new(j, "callback", json_boolean(s->callback));
    return j;
}

json_t *hl_explain_render(const hl_gc_explain *ex)
{
    hl_gc_explain_summary sum;
    hl_gc_explain_summary_get(ex, &sum);
    json_t *phases = json_array(), *objects = json_array(), *timeline = json_array(), *omitted = json_object();
    for (int p = 0; p < HL_GC_EXPLAIN_PHASE_COUNT; p++)
        json_array_append_new(phases, json_string(hl_gc_explain_phase_name((hl_gc_explain_phase)p)));
    hl_gc_explain_object o;
    for (size_t i = 0; hl_gc_explain_object_at(ex, i, &o); i++)
        json_array_append_new(objects, object_json(&o));
    hl_gc_explain_step s;
    for (size_t i = 0; hl_gc_explain_step_at(ex, i, &s); i++)
        json_array_append_new(timeline, step_json(&s));
    for (int v = 0; v < HL_GC_EXPLAIN_VERDICT_COUNT; v++)
        json_object_set_new(omitted, hl_gc_explain_verdict_name((hl_gc_explain_verdict)v),
                            json_integer((json_int_t)sum.omitted_by_verdict[v]));
    return json_pack("{s:i,s:I,s:I,s:I,s:o,s:o,s:o,s:o}", "generation", sum.generation, "examined",
                     (json_int_t)sum.examined, "explained", (json_int_t)sum.explained, "omitted",
                     (json_int_t)sum.omitted, "phases", phases, "objects", objects, "timeline", timeline,
                     "omitted_by_verdict", omitted);
}
