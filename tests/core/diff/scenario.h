/* scenario.h — hl-scenario: runs one scenario in the heaplab model and
 * writes the equal Python program, for differential testing against
 * CPython 3.11 (README.md beside this file has the format).  The program's
 * parts:
 *   util.c        growable strings, an id map, Python literal helpers
 *   runner.c      the runner state, access paths, labels, start and end
 *   model_ops.c   each scenario op, applied to the model and emitted as Python
 *   parse.c       the scenario file format
 *   random_gen.c  random scenarios driven by the live heap
 *   main.c        the command line
 */
#ifndef HL_SCENARIO_H
#define HL_SCENARIO_H

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "ops.h"

#define MAX_ITEMS 30 /* CPython builds literals differently above 30 items */
#define MAX_TOK 64

typedef struct sbuf {
    char *buf;
    size_t len, cap;
} sbuf;

typedef struct umap_ent {
    uint64_t key; /* 0 = empty */
    int64_t val;
} umap_ent;

typedef struct umap {
    umap_ent *tab;
    size_t cap, n;
} umap;

typedef struct pyclass {
    char *name;
    bool fin;
    char *res;
    char *pyname;
    char *attrs[64]; /* attribute names in first-use order */
    int nattrs;
} pyclass;

typedef struct label {
    char *name;
    uint64_t id;
} label;

typedef struct ref_copy {
    hl_slot_kind kind;
    uint64_t index;
    char *name;
    uint64_t target;
} ref_copy;

typedef struct refvec {
    ref_copy *v;
    size_t n, cap;
} refvec;

typedef struct runner {
    hl_heap *h;
    bool check;
    /* header */
    bool gc_on;
    int thr[3];
    hl_profile profile;
    bool compare_counts;
    /* current op */
    long opno;
    char *optext;
    const char *errtag;
    /* streams */
    long ntokens;
    sbuf body;  /* python body (inside try:) */
    sbuf notes; /* model notes for the current op */
    /* paths */
    umap pathidx; /* id -> index into paths */
    char **paths;
    uint64_t *pathids; /* BFS order */
    size_t npaths, pathcap;
    /* labels */
    label *labels;
    size_t nlabels, labelcap;
    /* classes */
    pyclass *classes;
    size_t nclasses;
    umap inst_class; /* instance id -> class index */
    bool gc_enabled; /* mirror of the model's setting */
    bool in_op;
    FILE *dump; /* random mode: scenario text */
} runner;

typedef enum outcome { OUT_OK, OUT_ERR } outcome;

typedef struct create_args {
    hl_type type;
    const char *label;
    const char *name; /* root name or NULL */
    int64_t ival;
    double fval;
    const char *text;
    size_t text_len;
    bool zeros;
    uint64_t items[MAX_ITEMS];
    size_t nitems;
    const char *keys[MAX_ITEMS];
    size_t nkeys;
    const char *cls;
    bool fin;
    const char *res;
} create_args;

typedef struct objv {
    uint64_t *v;
    size_t n, cap;
} objv;

extern runner R;

void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
void sb_putn(sbuf *b, const char *s, size_t n);
void sb_puts(sbuf *b, const char *s);
void sb_vprintf(sbuf *b, const char *fmt, va_list ap);
void sb_printf(sbuf *b, const char *fmt, ...);
void sb_clear(sbuf *b);
void sb_pylit(sbuf *b, const char *s, size_t n, bool latin1);
bool is_ident(const char *s);
bool is_attr_name(const char *s);
void umap_put(umap *m, uint64_t key, int64_t val);
bool umap_get(const umap *m, uint64_t key, int64_t *val);
void umap_clear(umap *m);
void die(const char *fmt, ...);
void tok(const char *fmt, ...);
void py(const char *fmt, ...);
void refvec_free(refvec *rv);
void get_refs(uint64_t id, refvec *rv);
void compute_paths(void);
const char *path_of(uint64_t id);
void set_label(const char *name, uint64_t id);
uint64_t resolve(const char *operand);
int get_class(const char *name, bool fin, const char *res);
void class_use_attr(int ci, const char *attr);
void begin_op(const char *text);
void end_op(void);
void do_observe(uint64_t id, bool wrap);
void op_create(const create_args *a);
void op_weakref(const char *lab, uint64_t target, bool cb, const char *name);
void op_bind(const char *name, uint64_t id);
void op_unbind(const char *name);
void op_add_ref(uint64_t cid, hl_ref_op op, int64_t index, const char *key, uint64_t target);
void op_remove_ref(uint64_t cid, hl_unref_op op, int64_t index, const char *key, uint64_t target);
void op_collect(int gen);
void op_gc_enable(bool on);
void op_threshold(int n, const int *t);
void op_freeze(bool freeze);
void runner_start(void);
void runner_finish(const char *out);
int tokenize(char *line, char **toks, int max);
void run_line(char **t, int n, bool *header);
void run_file(const char *path, const char *out);
void run_random(uint64_t seed, long nops, const char *out);

#endif
