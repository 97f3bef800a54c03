/* runner.c — the runner state, access paths, labels and classes, and the
 * start and end of a run (see scenario.h). */
#include "scenario.h"

/* ------------------------------------------------------------------ */
/* runner state                                                        */






runner R;

void die(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "hl-scenario: ");
    if (R.opno > 0)
        fprintf(stderr, "op %ld (%s): ", R.opno, R.optext ? R.optext : "?");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(2);
}

void tok(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    R.ntokens++;
}

void py(const char *fmt, ...)
{
    va_list ap;
    sb_puts(&R.body, "    ");
    va_start(ap, fmt);
    sb_vprintf(&R.body, fmt, ap);
    va_end(ap);
    sb_puts(&R.body, "\n");
}

static void sink(void *ctx, const hl_event *ev)
{
    (void)ctx;
    switch (ev->kind) {
    case HL_EV_FINALIZE:
        tok("F");
        tok("%" PRIu64, ev->id);
        break;
    case HL_EV_WEAKREF_CALLBACK:
        tok("W");
        tok("%" PRIu64, ev->id);
        break;
    case HL_EV_COLLECT:
        if (ev->collect && ev->collect->automatic)
            sb_printf(&R.notes, "automatic collection of generation %d: %" PRIu64
                      " collected, %" PRIu64 " uncollectable; ",
                      ev->collect->generation, ev->collect->collected,
                      ev->collect->uncollectable);
        break;
    case HL_EV_RESURRECT:
        sb_printf(&R.notes, "%" PRIu64 " resurrected; ", ev->id);
        break;
    case HL_EV_FREE:
    default:
        break;
    }
}

/* ------------------------------------------------------------------ */
/* access paths                                                        */

static bool ref_visit(void *ctx, const hl_ref *ref)
{
    refvec *rv = ctx;
    if (rv->n == rv->cap) {
        rv->cap = rv->cap ? rv->cap * 2 : 16;
        rv->v = xrealloc(rv->v, rv->cap * sizeof(ref_copy));
    }
    ref_copy *c = &rv->v[rv->n++];
    c->kind = ref->kind;
    c->index = ref->index;
    c->name = ref->name ? xstrdup(ref->name) : NULL;
    c->target = ref->target;
    return true;
}

void refvec_free(refvec *rv)
{
    for (size_t i = 0; i < rv->n; i++)
        free(rv->v[i].name);
    rv->n = 0;
}

void get_refs(uint64_t id, refvec *rv)
{
    refvec_free(rv);
    hl_status s = hl_heap_referents(R.h, id, ref_visit, rv);
    if (s != HL_OK)
        die("hl_heap_referents(%" PRIu64 ") failed: %s", id, hl_status_name(s));
}

static void add_path(uint64_t id, char *path)
{
    if (R.npaths == R.pathcap) {
        R.pathcap = R.pathcap ? R.pathcap * 2 : 256;
        R.paths = xrealloc(R.paths, R.pathcap * sizeof(char *));
        R.pathids = xrealloc(R.pathids, R.pathcap * sizeof(uint64_t));
    }
    umap_put(&R.pathidx, id, (int64_t)R.npaths);
    R.paths[R.npaths] = path;
    R.pathids[R.npaths] = id;
    R.npaths++;
}

static bool name_visit(void *ctx, const char *name, uint64_t id)
{
    (void)ctx;
    if (umap_get(&R.pathidx, id, NULL))
        return true;
    sbuf p = {0};
    sb_printf(&p, "v_%s", name);
    add_path(id, p.buf);
    return true;
}

void compute_paths(void)
{
    for (size_t i = 0; i < R.npaths; i++)
        free(R.paths[i]);
    R.npaths = 0;
    umap_clear(&R.pathidx);
    hl_heap_names(R.h, name_visit, NULL);
    refvec rv = {0};
    for (size_t q = 0; q < R.npaths; q++) {
        uint64_t id = R.pathids[q];
        hl_object_info info;
        if (hl_heap_object_info(R.h, id, &info) != HL_OK)
            die("a name or container refers to a dead object %" PRIu64, id);
        if (info.type != HL_LIST && info.type != HL_TUPLE && info.type != HL_DICT &&
            info.type != HL_INSTANCE)
            continue;
        get_refs(id, &rv);
        for (size_t k = 0; k < rv.n; k++) {
            ref_copy *c = &rv.v[k];
            if (umap_get(&R.pathidx, c->target, NULL))
                continue;
            sbuf p = {0};
            const char *parent = R.paths[q];
            if (c->kind == HL_SLOT_INDEX && (info.type == HL_LIST || info.type == HL_TUPLE))
                sb_printf(&p, "%s[%" PRIu64 "]", parent, c->index);
            else if (c->kind == HL_SLOT_KEY && info.type == HL_DICT && c->name && is_ident(c->name))
                sb_printf(&p, "%s[\"%s\"]", parent, c->name);
            else if (c->kind == HL_SLOT_ATTR && info.type == HL_INSTANCE && c->name &&
                     is_ident(c->name))
                sb_printf(&p, "%s.%s", parent, c->name);
            else
                continue;
            add_path(c->target, p.buf);
        }
    }
    refvec_free(&rv);
    free(rv.v);
}

const char *path_of(uint64_t id)
{
    int64_t ix;
    if (!umap_get(&R.pathidx, id, &ix)) {
        hl_object_info info;
        if (hl_heap_object_info(R.h, id, &info) != HL_OK)
            die("object %" PRIu64 " is not alive", id);
        die("object %" PRIu64 " (%s) has no access path from a name", id, hl_type_name(info.type));
    }
    return R.paths[ix];
}

/* ------------------------------------------------------------------ */
/* labels and classes                                                  */

void set_label(const char *name, uint64_t id)
{
    if (!name || strcmp(name, "-") == 0)
        return;
    for (size_t i = 0; i < R.nlabels; i++)
        if (strcmp(R.labels[i].name, name) == 0) {
            R.labels[i].id = id;
            return;
        }
    if (R.nlabels == R.labelcap) {
        R.labelcap = R.labelcap ? R.labelcap * 2 : 64;
        R.labels = xrealloc(R.labels, R.labelcap * sizeof(label));
    }
    R.labels[R.nlabels].name = xstrdup(name);
    R.labels[R.nlabels].id = id;
    R.nlabels++;
}

/* label, $name (object bound to a root name) or #id */
uint64_t resolve(const char *operand)
{
    if (operand[0] == '$') {
        uint64_t id;
        hl_status s = hl_heap_name_lookup(R.h, operand + 1, &id);
        if (s != HL_OK)
            die("name %s: %s", operand + 1, hl_status_name(s));
        return id;
    }
    if (operand[0] == '#')
        return strtoull(operand + 1, NULL, 10);
    for (size_t i = 0; i < R.nlabels; i++)
        if (strcmp(R.labels[i].name, operand) == 0)
            return R.labels[i].id;
    /* random scenarios name objects o<id>, and so do their dumps */
    if (operand[0] == 'o' && isdigit((unsigned char)operand[1]))
        return strtoull(operand + 1, NULL, 10);
    die("unknown label %s", operand);
    return 0;
}

int get_class(const char *name, bool fin, const char *res)
{
    for (size_t i = 0; i < R.nclasses; i++) {
        pyclass *c = &R.classes[i];
        if (strcmp(c->name, name) == 0 && c->fin == fin &&
            ((!c->res && !res) || (c->res && res && strcmp(c->res, res) == 0)))
            return (int)i;
    }
    R.classes = xrealloc(R.classes, (R.nclasses + 1) * sizeof(pyclass));
    pyclass *c = &R.classes[R.nclasses];
    memset(c, 0, sizeof *c);
    c->name = xstrdup(name);
    c->fin = fin;
    c->res = res ? xstrdup(res) : NULL;
    sbuf p = {0};
    sb_printf(&p, "C_%s%s%s%s", name, fin ? "_F" : "", res ? "_R_" : "", res ? res : "");
    c->pyname = p.buf;
    return (int)R.nclasses++;
}

void class_use_attr(int ci, const char *attr)
{
    pyclass *c = &R.classes[ci];
    for (int i = 0; i < c->nattrs; i++)
        if (strcmp(c->attrs[i], attr) == 0)
            return;
    if (c->nattrs >= 25)
        die("class %s: more than 25 attribute names (CPython's shared keys would overflow)",
            c->name);
    c->attrs[c->nattrs++] = xstrdup(attr);
}

/* ------------------------------------------------------------------ */
/* start and end                                                       */

void runner_start(void)
{
    hl_heap_config cfg;
    hl_heap_config_default(&cfg);
    hl_heap_config_profile(&cfg, R.profile);
    cfg.thresholds[0] = R.thr[0];
    cfg.thresholds[1] = R.thr[1];
    cfg.thresholds[2] = R.thr[2];
    cfg.gc_enabled = R.gc_on;
    R.h = hl_heap_new(&cfg);
    if (!R.h)
        die("hl_heap_new failed");
    hl_heap_set_event_sink(R.h, sink, NULL);
    R.gc_enabled = R.gc_on;
}

static void write_program(const char *out)
{
    FILE *f = fopen(out, "w");
    if (!f)
        die("cannot write %s: %s", out, strerror(errno));
    fprintf(f, "# generated by hl-scenario: the Python twin of a heaplab scenario\n");
    fprintf(f, "import gc, sys, weakref, os\n");
    fprintf(f, "gc.disable()\n");
    fprintf(f, "_obs = []\n_ids = {}\n_z = 0\n");
    fprintf(f, "def _reg(n, o):\n    _ids[id(o)] = n\n    return o\n");
    fprintf(f, "def _cb(wr):\n    _obs.append(\"W\")\n    _obs.append(_ids[id(wr)])\n");
    for (size_t i = 0; i < R.nclasses; i++) {
        pyclass *c = &R.classes[i];
        fprintf(f, "class %s:\n", c->pyname);
        if (!c->fin) {
            fprintf(f, "    pass\n");
            continue;
        }
        fprintf(f, "    def __del__(self):\n");
        if (c->res)
            fprintf(f, "        global v_%s\n", c->res);
        fprintf(f, "        _obs.append(\"F\")\n        _obs.append(_ids[id(self)])\n");
        if (c->res)
            fprintf(f, "        v_%s = self\n", c->res);
    }
    fprintf(f, "class _Warm:\n    pass\n");
    /* Seed each class's shared keys with its attribute names in the order the
     * scenario first used them, so that no instance dict is ever
     * materialized (3.11 shrinks the shared keys' usable size per instance)
     * and attribute traversal follows first-use order. */
    fprintf(f, "_seed = []\n");
    for (size_t i = 0; i < R.nclasses; i++) {
        pyclass *c = &R.classes[i];
        if (!c->nattrs)
            continue;
        fprintf(f, "_k = %s()\n", c->pyname);
        for (int k = 0; k < c->nattrs; k++)
            fprintf(f, "_k.%s = None\n", c->attrs[k]);
        fprintf(f, "_seed.append(_k)\ndel _k\n");
    }
    /* warm-ups: every kind of statement once, outside the measured part */
    fprintf(f,
            "_w = _reg(0, _Warm()); _w.a = None; del _w.a\n"
            "_l = [_w, _w]; _l.append(_w); _l.remove(_w); _l[0] = _w; del _l[0]\n"
            "_d = {\"k\": _w, \"j\": _w}; _d[\"i\"] = _w; del _d[\"k\"]\n"
            "_s = {1, 2}; _s.add(3); _s.remove(3); _s2 = set(); _tu = (_w, _w,)\n"
            "_r = _reg(0, weakref.ref(_w, _cb)); _r2 = weakref.ref(_w)\n"
            "sys.getrefcount(_w); sys.getsizeof(_w); gc.is_tracked(_w); sys.getsizeof(_l)\n"
            "float(\"1.5\"); 'ab'.encode().decode(); 'ab'.encode('latin-1'); _z + 1000\n"
            "('\\x00' * 3).encode('latin-1')\n"
            "gc.enable(); gc.disable(); gc.get_count()\n"
            "del _r, _r2, _l, _d, _s, _s2, _tu\n"
            "_r = _reg(0, weakref.ref(_w, _cb))\n"
            "del _w, _r\n");
    for (size_t i = 0; i < R.nclasses; i++) {
        pyclass *c = &R.classes[i];
        fprintf(f, "_w = _reg(0, %s()); _r = _reg(0, weakref.ref(_w, _cb)); del _w, _r\n",
                c->pyname);
        if (c->res)
            fprintf(f, "del v_%s\n", c->res);
    }
    fprintf(f, "_obs.clear()\n");
    fprintf(f, "gc.set_threshold(%d, %d, %d)\n", R.thr[0], R.thr[1], R.thr[2]);
    fprintf(f, "_s0 = [(_x[\"collections\"], _x[\"collected\"], _x[\"uncollectable\"]) "
               "for _x in gc.get_stats()]\n");
    fprintf(f, "_pre = gc.collect()\ngc.freeze()\n_pre += gc.collect()\n");
    if (R.gc_on)
        fprintf(f, "gc.enable()\n");
    fprintf(f, "try:\n    pass\n");
    fwrite(R.body.buf ? R.body.buf : "", 1, R.body.len, f);
    fprintf(f,
            "except BaseException as _e:\n"
            "    import traceback\n"
            "    traceback.print_exc()\n"
            "    _obs.append(\"PYTHON-EXCEPTION\")\n"
            "    _obs.append(type(_e).__name__)\n"
            "    sys.stdout.write(\"\".join(str(_x) + \"\\n\" for _x in _obs))\n"
            "    sys.stdout.flush()\n"
            "    os._exit(1)\n");
    fprintf(f, "sys.stdout.write(\"\".join(str(_x) + \"\\n\" for _x in _obs))\n"
               "sys.stdout.flush()\n"
               "os._exit(0)\n");
    if (fclose(f) != 0)
        die("writing %s failed", out);
}

void runner_finish(const char *out)
{
    /* epilogue: everything that still has a path, in id order */
    R.errtag = NULL;
    begin_op("# epilogue");
    if (R.gc_enabled)
        op_gc_enable(false);
    end_op();
    compute_paths();
    for (uint64_t id = hl_heap_next_live_id(R.h, 0); id; id = hl_heap_next_live_id(R.h, id)) {
        if (umap_get(&R.pathidx, id, NULL))
            do_observe(id, false);
    }
    if (R.compare_counts) {
        hl_gc_state st;
        hl_heap_gc_state(R.h, &st);
        tok("N");
        for (int g = 0; g < 3; g++)
            tok("%" PRId64, st.count[g]);
        tok("S");
        for (int g = 0; g < 3; g++) {
            tok("%" PRIu64, st.stats[g].collections);
            tok("%" PRIu64, st.stats[g].collected);
            tok("%" PRIu64, st.stats[g].uncollectable);
        }
        py("_c = gc.get_count(); _obs.append(\"N\"); _obs.extend(_c); del _c");
        py("_st = gc.get_stats(); _obs.append(\"S\")");
        py("for _g in range(3):");
        py("    _obs.append(_st[_g][\"collections\"] - _s0[_g][0] - (2 if _g == 2 else 0))");
        py("    _obs.append(_st[_g][\"collected\"] - _s0[_g][1] - (_pre if _g == 2 else 0))");
        py("    _obs.append(_st[_g][\"uncollectable\"] - _s0[_g][2])");
        py("del _st");
    }
    begin_op("# final collection");
    op_collect(2);
    end_op();
    write_program(out);
    hl_heap_set_event_sink(R.h, NULL, NULL);
    hl_heap_delete(R.h);
    R.h = NULL;
}

