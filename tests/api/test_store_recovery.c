/* test_store_recovery.c — what recovery makes of damaged and half-done
 * files: torn tails cut at every byte, corruption reported per heap with
 * the files left alone, injected ENOSPC/EIO leaving the journal as it was,
 * creations that leave nothing, and the leftovers of crashes. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storetest.h"

START_TEST(torn_tail_at_every_offset)
{
    size_t last, size;
    t_three_records(&last, &size);
    const char *journal = t_path("heaps/h/journal.0");
    t_bytes orig = t_read(journal);
    ck_assert_uint_eq(orig.n, size);
    for (size_t cut = last + 1; cut < size; cut++) {
        t_write(journal, orig.p, cut);
        t_seen seen = {0};
        hl_store *s = t_recover(HL_FSYNC_ALWAYS, &seen);
        ck_assert_uint_eq(seen.heaps[0].torn, cut - last);
        t_expect_records(&seen.heaps[0], 10, 12);
        t_finish(s, &seen);
        t_expect_file(journal, orig.p, last);
    }
    /* the last record's checksum failing is a torn tail too */
    t_write(journal, orig.p, size);
    t_flip(journal, size - 1);
    t_seen seen = {0};
    hl_store *s = t_recover(HL_FSYNC_ALWAYS, &seen);
    ck_assert_uint_eq(seen.heaps[0].torn, size - last);
    t_expect_records(&seen.heaps[0], 10, 12);
    t_commit(seen.heaps[0].h, 12, 13);                     /* appends where the tail was cut */
    s = t_reopen(s, HL_FSYNC_ALWAYS, &seen);
    ck_assert_uint_eq(seen.heaps[0].torn, 0);
    t_expect_records(&seen.heaps[0], 10, 13);
    t_finish(s, &seen);
    free(orig.p);
}
END_TEST

/* A refused heap keeps its torn tail on disk. */
START_TEST(refused_heap_is_untouched)
{
    size_t last, size;
    t_three_records(&last, &size);
    const char *journal = t_path("heaps/h/journal.0");
    ck_assert_int_eq(truncate(journal, (off_t)size - 3), 0);
    t_seen seen = {.refuse = true};
    hl_store *s = t_recover(HL_FSYNC_ALWAYS, &seen);
    ck_assert_uint_eq(seen.heaps[0].torn, size - 3 - last);
    t_finish(s, &seen);
    struct stat st;
    ck_assert_int_eq(stat(journal, &st), 0);
    ck_assert_uint_eq((size_t)st.st_size, size - 3);
}
END_TEST

START_TEST(corruption_is_reported_per_heap)
{
    hl_store *s = t_open(HL_FSYNC_ALWAYS, 0);
    const char *ids[] = {"a-early-record", "b-magic", "c-snapshot", "d-fine", "e-length"};
    for (int i = 0; i < 5; i++) {
        hl_store_heap *h = t_create(s, ids[i]);
        t_commit(h, 0, 3);
        if (i == 2) {
            t_snapshot(h, "a snapshot payload");
            t_commit(h, 3, 4);
        }
    }
    hl_store_close(s);
    t_flip(t_path("heaps/a-early-record/journal.0"), 16 + 8 + 2);
    t_flip(t_path("heaps/b-magic/journal.0"), 3);
    t_flip(t_path("heaps/c-snapshot/snapshot.1"), 30);
    t_flip(t_path("heaps/e-length/journal.0"), 16 + 3);    /* a huge length */
    t_bytes before = t_read(t_path("heaps/a-early-record/journal.0"));

    t_seen seen = {0};
    s = t_recover(HL_FSYNC_ALWAYS, &seen);
    ck_assert_uint_eq(seen.n, 5);
    const t_heap *a = t_find(&seen, ids[0]), *b = t_find(&seen, ids[1]), *c = t_find(&seen, ids[2]);
    const t_heap *e = t_find(&seen, ids[4]);
    ck_assert_ptr_nonnull(a->why);
    ck_assert_ptr_nonnull(strstr(a->why, "a-early-record/journal.0"));
    ck_assert_ptr_nonnull(strstr(a->why, "offset 16"));
    ck_assert_ptr_nonnull(b->why);
    ck_assert_ptr_nonnull(strstr(b->why, "magic"));
    ck_assert_ptr_nonnull(c->why);
    ck_assert_ptr_nonnull(strstr(c->why, "c-snapshot/snapshot.1"));
    ck_assert_ptr_nonnull(e->why);
    ck_assert_ptr_nonnull(strstr(e->why, "impossible record length"));
    t_expect_records(t_find(&seen, ids[3]), 0, 3);
    t_finish(s, &seen);
    t_expect_file(t_path("heaps/a-early-record/journal.0"), before.p, before.n);
    free(before.p);
}
END_TEST

START_TEST(commit_fault_leaves_journal_unchanged)
{
    const hl_fsync_policy policy = (hl_fsync_policy)_i;
    hl_store_heap *h;
    hl_store *s = t_store_h(policy, 0, 0, 2, &h);
    const char *journal = t_path("heaps/h/journal.0");
    t_bytes before = t_read(journal);
    const char *faults[] = {"enospc", "eio"};
    const hl_store_status want[] = {HL_STORE_NOSPACE, HL_STORE_IO};
    for (int f = 0; f < 2; f++) {
        t_fault(faults[f]);
        for (int i = 2; i < 12; i++)                          /* big enough for a half write */
            hl_store_append(h, t_rec(i), strlen(t_rec(i)));
        ck_assert_int_eq(hl_store_commit(h), want[f]);
        t_expect_file(journal, before.p, before.n);
    }
    t_fault(NULL);
    ck_assert_int_eq(hl_store_commit(h), HL_STORE_OK);       /* the failed buffer is gone */
    t_commit(h, 2, 4);
    t_seen seen = {0};
    s = t_reopen(s, policy, &seen);
    t_expect_records(&seen.heaps[0], 0, 4);
    t_finish(s, &seen);
    free(before.p);
}
END_TEST
START_TEST(create_failures_leave_nothing)
{
    hl_store *s = t_open(HL_FSYNC_NO, 0);
    hl_store_heap *h = NULL;
    t_fault("enospc");
    ck_assert_int_eq(hl_store_heap_create(s, "x", "{}", 2, &h), HL_STORE_NOSPACE);
    ck_assert_ptr_null(h);
    ck_assert_uint_eq(t_entries(t_path("heaps")), 0);
    t_fault("eio");
    ck_assert_int_eq(hl_store_heap_create(s, "x", "{}", 2, &h), HL_STORE_IO);
    ck_assert_uint_eq(t_entries(t_path("heaps")), 0);
    t_fault(NULL);
    ck_assert_int_eq(hl_store_heap_create(s, "../x", "{}", 2, &h), HL_STORE_INVALID);
    ck_assert_int_eq(hl_store_heap_create(s, "", "{}", 2, &h), HL_STORE_INVALID);
    h = t_create(s, "x");
    hl_store_heap *again = NULL;
    ck_assert_int_eq(hl_store_heap_create(s, "x", "{}", 2, &again), HL_STORE_EXISTS);
    hl_store_append(h, "", 0);                                /* records are never empty */
    hl_store_append(h, "ok", 2);
    ck_assert_int_eq(hl_store_commit(h), HL_STORE_INVALID);
    ck_assert_uint_eq(hl_store_journal_bytes(h), 0);
    hl_store_close(s);
}
END_TEST
/* What crashes leave: a deletion past its rename, a creation before its
 * rename, a snapshot before its rename, a rotation whose old files stayed. */
START_TEST(recovery_finishes_interrupted_work)
{
    hl_store_heap *h;
    hl_store *s = t_store_h(HL_FSYNC_ALWAYS, 0, 0, 2, &h);
    t_snapshot(h, "snap");
    t_commit(h, 2, 3);
    hl_store_close(s);
    mkdir(t_path("heaps/.deleted-old"), 0700);
    t_write(t_path("heaps/.deleted-old/meta"), "{}", 2);
    mkdir(t_path("heaps/new.tmp"), 0700);
    t_write(t_path("heaps/new.tmp/meta.tmp"), "{", 1);
    t_write(t_path("heaps/h/snapshot.2.tmp"), "HLSNAP01", 8);
    t_write(t_path("heaps/h/journal.2"), "HLJRNL01\2\0\0\0\0\0\0\0", 16);   /* no snapshot.2 */
    t_write(t_path("heaps/h/journal.0"), "HLJRNL01\0\0\0\0\0\0\0\0", 16);   /* stale */
    t_seen seen = {0};
    s = t_recover(HL_FSYNC_ALWAYS, &seen);
    ck_assert_uint_eq(seen.n, 1);
    ck_assert_str_eq(seen.heaps[0].snapshot, "snap");
    t_expect_records(&seen.heaps[0], 2, 3);
    ck_assert_uint_eq(t_entries(t_path("heaps")), 1);
    ck_assert_uint_eq(t_entries(t_path("heaps/h")), 3);
    t_finish(s, &seen);
}
END_TEST

void t_store_recovery_tests(TCase *tc);

void t_store_recovery_tests(TCase *tc)
{
    tcase_add_test(tc, torn_tail_at_every_offset);
    tcase_add_test(tc, refused_heap_is_untouched);
    tcase_add_test(tc, corruption_is_reported_per_heap);
    tcase_add_loop_test(tc, commit_fault_leaves_journal_unchanged, HL_FSYNC_ALWAYS, HL_FSYNC_NO + 1);
    tcase_add_test(tc, create_failures_leave_nothing);
    tcase_add_test(tc, recovery_finishes_interrupted_work);
}
