/* random_gen.c — random scenarios generated from the live heap, so every op
 * is valid and every object it names has an access path (see scenario.h). */
#include "scenario.h"

/* ------------------------------------------------------------------ */
/* random scenarios                                                    */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static unsigned rndn(unsigned n) { return n ? (unsigned)(rnd() % n) : 0; }
static bool chance(unsigned pct) { return rndn(100) < pct; }

#define NROOTS 12
static const char *ATTRS[] = {"x", "y", "z", "u", "w"};
static const char *KEYS[] = {"k0", "k1", "k2", "k3", "k4", "k5"};


static void objv_push(objv *o, uint64_t id)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 64;
        o->v = xrealloc(o->v, o->cap * sizeof(uint64_t));
    }
    o->v[o->n++] = id;
}

static hl_type type_of(uint64_t id)
{
    hl_object_info info;
    if (hl_heap_object_info(R.h, id, &info) != HL_OK)
        die("object %" PRIu64 " vanished", id);
    return info.type;
}

static uint64_t pick_path_obj(bool (*pred)(uint64_t, hl_type))
{
    objv cand = {0};
    for (size_t i = 0; i < R.npaths; i++) {
        uint64_t id = R.pathids[i];
        if (!pred || pred(id, type_of(id)))
            objv_push(&cand, id);
    }
    uint64_t r = cand.n ? cand.v[rndn((unsigned)cand.n)] : 0;
    free(cand.v);
    return r;
}

static bool is_atomic(uint64_t id, hl_type t)
{
    (void)id;
    return t <= HL_BYTES;
}
static bool is_container(uint64_t id, hl_type t)
{
    (void)id;
    return t == HL_LIST || t == HL_DICT || t == HL_INSTANCE;
}
static bool is_mutable(uint64_t id, hl_type t)
{
    (void)id;
    return t == HL_LIST || t == HL_DICT || t == HL_INSTANCE || t == HL_SET;
}
static bool is_weakrefable(uint64_t id, hl_type t)
{
    (void)id;
    return t == HL_INSTANCE || t == HL_SET;
}

static const char *label_of(uint64_t id, char *buf, size_t cap)
{
    snprintf(buf, cap, "o%" PRIu64, id);
    return buf;
}

static int eq_category(hl_type t)
{
    switch (t) {
    case HL_INT:
    case HL_FLOAT:
        return 1;
    case HL_STR:
        return 2;
    case HL_BYTES:
        return 3;
    case HL_TUPLE:
        return 4;
    case HL_LIST:
        return 5;
    case HL_DICT:
        return 6;
    case HL_SET:
        return 7;
    case HL_INSTANCE:
        return 8;
    case HL_WEAKREF:
        return 9;
    }
    return 0;
}

static void rnd_text(char *buf, size_t len, bool bytes)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = bytes && chance(20) ? (char)rndn(256) : (char)('a' + rndn(6));
    buf[len] = 0;
}

static void random_step(void)
{
    char lb[3][32];
    char text[512];
    hl_heap_totals tot;
    hl_heap_totals_get(R.h, &tot);
    bool big = tot.objects > 700;
    compute_paths();
    unsigned w_create = big ? 4 : 16, w_atom = big ? 2 : 7, w_bind = 8,
             w_unbind = big ? 12 : 5, w_add = 22, w_rm = big ? 20 : 12, w_wr = 6,
             w_collect = big ? 10 : 5, w_gc = 2, w_freeze = 1, w_obs = 4;
    unsigned total = w_create + w_atom + w_bind + w_unbind + w_add + w_rm + w_wr + w_collect +
                     w_gc + w_freeze + w_obs;
    unsigned r = rndn(total);
    char root[16];
    snprintf(root, sizeof root, chance(7) ? "res" : "r%u", rndn(NROOTS));

#define PICK(w) (r < (w) ? true : (r -= (w), false))
    if (PICK(w_create)) {
        static const hl_type kinds[] = {HL_LIST, HL_LIST, HL_LIST, HL_INSTANCE, HL_INSTANCE,
                                        HL_INSTANCE, HL_INSTANCE, HL_DICT, HL_DICT, HL_TUPLE,
                                        HL_TUPLE, HL_SET};
        hl_type t = kinds[rndn(sizeof kinds / sizeof kinds[0])];
        sbuf s = {0};
        unsigned k = rndn(4);
        const char *tn = t == HL_INSTANCE ? "instance" : hl_type_name(t);
        uint64_t id0 = hl_heap_next_id(R.h);
        sb_printf(&s, "create o%" PRIu64 " %s", id0, tn);
        /* label is the id the model will probably give; fixed below if not */
        if (t == HL_LIST || t == HL_TUPLE || t == HL_SET) {
            if (k)
                sb_puts(&s, " items=");
            for (unsigned i = 0; i < k; i++) {
                uint64_t it = pick_path_obj(t == HL_SET ? is_atomic : NULL);
                if (!it)
                    break;
                sb_printf(&s, "%s%s", i ? "," : "", label_of(it, lb[0], sizeof lb[0]));
            }
            if (s.buf[s.len - 1] == '=')
                s.len -= 7, s.buf[s.len] = 0;
        } else {
            bool used[6] = {0};
            unsigned got = 0;
            for (unsigned i = 0; i < k; i++) {
                unsigned ki = rndn(t == HL_DICT ? 6 : 5);
                if (used[ki])
                    continue;
                used[ki] = true;
                uint64_t it = pick_path_obj(NULL);
                if (!it)
                    break;
                sb_printf(&s, "%s%s:%s", got ? "," : (t == HL_DICT ? " keys=" : " attrs="),
                          t == HL_DICT ? KEYS[ki] : ATTRS[ki], label_of(it, lb[0], sizeof lb[0]));
                got++;
            }
            if (t == HL_INSTANCE) {
                unsigned c = rndn(100);
                sb_puts(&s, c < 50 ? " class=Node" : c < 85 ? " class=Fin fin" :
                                                       " class=Res resurrect=res");
            }
        }
        if (!chance(12))
            sb_printf(&s, " name=%s", root);
        snprintf(text, sizeof text, "%s", s.buf);
        free(s.buf);
    } else if (PICK(w_atom)) {
        uint64_t id0 = hl_heap_next_id(R.h);
        unsigned c = rndn(100);
        char val[64];
        if (c < 35)
            snprintf(text, sizeof text, "create o%" PRIu64 " int %d name=%s", id0,
                     chance(40) ? (int)rndn(262) - 5 : (int)rndn(4) * 1000 + 1000, root);
        else if (c < 55)
            snprintf(text, sizeof text, "create o%" PRIu64 " float %s name=%s", id0,
                     chance(30) ? "1000.0" : chance(50) ? "1.5" : "-0.25", root);
        else if (c < 80) {
            rnd_text(val, rndn(5), false);
            snprintf(text, sizeof text, "create o%" PRIu64 " str \"%s\" name=%s", id0, val, root);
        } else {
            if (chance(40)) {
                snprintf(text, sizeof text, "create o%" PRIu64 " bytes zeros=%u name=%s", id0,
                         rndn(40), root);
            } else {
                size_t L = rndn(4);
                rnd_text(val, L, true);
                char esc[64] = "";
                size_t e = 0;
                for (size_t i = 0; i < L; i++)
                    e += (size_t)snprintf(esc + e, sizeof esc - e, "\\x%02x",
                                          (unsigned char)val[i]);
                snprintf(text, sizeof text, "create o%" PRIu64 " bytes \"%s\" name=%s", id0, esc,
                         root);
            }
        }
    } else if (PICK(w_bind)) {
        uint64_t id = pick_path_obj(NULL);
        if (!id)
            return;
        snprintf(text, sizeof text, "bind %s %s", root, label_of(id, lb[0], sizeof lb[0]));
    } else if (PICK(w_unbind)) {
        uint64_t id;
        if (hl_heap_name_lookup(R.h, root, &id) != HL_OK)
            return;
        snprintf(text, sizeof text, "unbind %s", root);
    } else if (PICK(w_add)) {
        uint64_t c = pick_path_obj(is_mutable);
        if (!c)
            return;
        hl_type ct = type_of(c);
        uint64_t tg = ct == HL_SET ? pick_path_obj(is_atomic)
                      : chance(45) ? pick_path_obj(is_container) : pick_path_obj(NULL);
        if (!tg)
            return;
        label_of(c, lb[0], sizeof lb[0]);
        label_of(tg, lb[1], sizeof lb[1]);
        if (ct == HL_LIST) {
            hl_object_info info;
            hl_heap_object_info(R.h, c, &info);
            if (info.length && chance(40)) {
                int64_t ix = (int64_t)rndn((unsigned)info.length);
                if (chance(25))
                    ix -= (int64_t)info.length;
                snprintf(text, sizeof text, "setitem %s %" PRId64 " %s", lb[0], ix, lb[1]);
            } else
                snprintf(text, sizeof text, "append %s %s", lb[0], lb[1]);
        } else if (ct == HL_DICT)
            snprintf(text, sizeof text, "setkey %s %s %s", lb[0], KEYS[rndn(6)], lb[1]);
        else if (ct == HL_INSTANCE)
            snprintf(text, sizeof text, "setattr %s %s %s", lb[0], ATTRS[rndn(5)], lb[1]);
        else
            snprintf(text, sizeof text, "add %s %s", lb[0], lb[1]);
    } else if (PICK(w_rm)) {
        uint64_t c = pick_path_obj(is_mutable);
        if (!c)
            return;
        hl_type ct = type_of(c);
        refvec rv = {0};
        get_refs(c, &rv);
        objv sel = {0};
        for (size_t i = 0; i < rv.n; i++) {
            hl_slot_kind k = rv.v[i].kind;
            if ((ct == HL_LIST && k == HL_SLOT_INDEX) || (ct == HL_DICT && k == HL_SLOT_KEY) ||
                (ct == HL_INSTANCE && k == HL_SLOT_ATTR) || (ct == HL_SET && k == HL_SLOT_MEMBER))
                objv_push(&sel, i);
        }
        if (!sel.n) {
            refvec_free(&rv);
            free(rv.v);
            free(sel.v);
            return;
        }
        ref_copy *rc = &rv.v[sel.v[rndn((unsigned)sel.n)]];
        label_of(c, lb[0], sizeof lb[0]);
        text[0] = 0;
        if (ct == HL_LIST) {
            bool by_value = chance(30) && umap_get(&R.pathidx, rc->target, NULL);
            if (by_value) {
                /* list.remove(t) compares earlier items with t: only when
                 * that cannot recurse or depend on hashes/identity games */
                hl_type tt = type_of(rc->target);
                int cat = eq_category(tt);
                bool safe = true;
                for (size_t i = 0; i < rv.n; i++) {
                    if (rv.v[i].kind != HL_SLOT_INDEX)
                        continue;
                    if (rv.v[i].target == rc->target)
                        break;
                    int c2 = eq_category(type_of(rv.v[i].target));
                    if (c2 == cat && cat >= 4 && cat != 8)
                        safe = false;
                }
                if (safe)
                    snprintf(text, sizeof text, "remove %s %s", lb[0],
                             label_of(rc->target, lb[1], sizeof lb[1]));
            }
            if (!text[0]) {
                int64_t ix = (int64_t)rc->index;
                if (chance(25)) {
                    hl_object_info info;
                    hl_heap_object_info(R.h, c, &info);
                    ix -= (int64_t)info.length;
                }
                snprintf(text, sizeof text, "delitem %s %" PRId64, lb[0], ix);
            }
        } else if (ct == HL_DICT)
            snprintf(text, sizeof text, "delkey %s %s", lb[0], rc->name);
        else if (ct == HL_INSTANCE)
            snprintf(text, sizeof text, "delattr %s %s", lb[0], rc->name);
        else {
            if (!umap_get(&R.pathidx, rc->target, NULL))
                text[0] = 0;
            else
                snprintf(text, sizeof text, "remove %s %s", lb[0],
                         label_of(rc->target, lb[1], sizeof lb[1]));
        }
        refvec_free(&rv);
        free(rv.v);
        free(sel.v);
        if (!text[0])
            return;
    } else if (PICK(w_wr)) {
        uint64_t tg = pick_path_obj(is_weakrefable);
        if (!tg)
            return;
        uint64_t id0 = hl_heap_next_id(R.h);
        snprintf(text, sizeof text, "weakref o%" PRIu64 " %s%s name=%s", id0,
                 label_of(tg, lb[0], sizeof lb[0]), chance(75) ? " cb" : "", root);
    } else if (PICK(w_collect)) {
        snprintf(text, sizeof text, "collect %u", rndn(3));
    } else if (PICK(w_gc)) {
        snprintf(text, sizeof text, R.gc_enabled ? "gc off" : "gc on");
    } else if (PICK(w_freeze)) {
        /* No unfreeze here: it would move the Python program's frozen
         * prelude into generation 2, module globals dict included, and a
         * full collection traversing that dict re-orders the objects names
         * reach; heaplab's names are roots, not a dict object.  Hand
         * scenarios cover unfreeze where order does not matter. */
        snprintf(text, sizeof text, "freeze");
    } else {
        uint64_t id = pick_path_obj(NULL);
        if (!id)
            return;
        snprintf(text, sizeof text, "observe %s", label_of(id, lb[0], sizeof lb[0]));
    }
#undef PICK
    /* run it through the same parser as scenario files */
    char line[sizeof text];
    strcpy(line, text);
    char *toks[MAX_TOK];
    int n = tokenize(line, toks, MAX_TOK);
    bool header = false;
    begin_op(text);
    run_line(toks, n, &header);
    end_op();
    /* labels are ids: if the model minted another id, relabel */
    if (strncmp(text, "create ", 7) == 0 || strncmp(text, "weakref ", 8) == 0) {
        for (size_t i = 0; i < R.nlabels; i++) {
            if (strcmp(R.labels[i].name, toks[1]) == 0) {
                char want[32];
                snprintf(want, sizeof want, "o%" PRIu64, R.labels[i].id);
                if (strcmp(want, toks[1]) != 0) {
                    free(R.labels[i].name);
                    R.labels[i].name = xstrdup(want);
                    /* keep the dump replayable */
                    if (R.dump)
                        fprintf(R.dump, "# (model gave id %" PRIu64 ")\n", R.labels[i].id);
                }
            }
        }
    }
}

void run_random(uint64_t seed, long nops, const char *out)
{
    rng_state = seed * 0x2545F4914F6CDD1Dull + 1;
    R.gc_on = false;
    R.thr[0] = 7;
    R.thr[1] = 3;
    R.thr[2] = 3;
    R.compare_counts = true;
    if (R.dump)
        fprintf(R.dump, "# random scenario, seed %" PRIu64 "\ngc off\nthreshold 7 3 3\n"
                        "compare-counts\n",
                seed);
    runner_start();
    long before = 0;
    while (R.opno < nops) {
        before = R.opno;
        random_step();
        (void)before;
    }
    runner_finish(out);
}

