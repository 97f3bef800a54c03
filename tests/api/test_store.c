/* test_store.c — the durable store: round trips under each fsync policy,
 * snapshot rotation and its failures, rereading after a failed commit,
 * deletion, the directory lock and concurrent use.  Recovery from damage
 * and injected faults: test_store_recovery.c. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "storetest.h"

void t_store_recovery_tests(TCase *tc);

START_TEST(crc32c_vectors)
{
    ck_assert_uint_eq(hl_journal_crc32c(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(hl_journal_crc32c(0, "", 0), 0);
    uint32_t a = hl_journal_crc32c(0, "1234", 4);
    ck_assert_uint_eq(hl_journal_crc32c(a, "56789", 5), 0xE3069283u);
    ck_assert_uint_eq(hl_journal_crc32c_combine(a, hl_journal_crc32c(0, "56789", 5), 5), 0xE3069283u);
    static unsigned char big[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)(i * 31 + 7);
    uint32_t whole = hl_journal_crc32c(0, big, sizeof big);
    uint32_t head = hl_journal_crc32c(0, big, 24), tail = hl_journal_crc32c(0, big + 24, sizeof big - 24);
    ck_assert_uint_eq(hl_journal_crc32c_combine(head, tail, sizeof big - 24), whole);
}
END_TEST

START_TEST(policy_names)
{
    hl_fsync_policy p;
    ck_assert(hl_fsync_policy_parse("always", &p) && p == HL_FSYNC_ALWAYS);
    ck_assert(hl_fsync_policy_parse("everysec", &p) && p == HL_FSYNC_EVERYSEC);
    ck_assert(hl_fsync_policy_parse("no", &p) && p == HL_FSYNC_NO);
    ck_assert(!hl_fsync_policy_parse("sometimes", &p));
    ck_assert_str_eq(hl_store_status_message(HL_STORE_NOSPACE), "no space left on the device");
}
END_TEST

START_TEST(round_trip)
{
    hl_store *s = t_open(HL_FSYNC_ALWAYS, 0);
    hl_store_heap *h = t_create(s, "h1");
    ck_assert_uint_eq(hl_store_journal_bytes(h), 0);
    t_commit(h, 0, 3);
    hl_store_append(h, "dropped", 7);
    hl_store_discard(h);
    ck_assert_int_eq(hl_store_commit(h), HL_STORE_OK);     /* nothing buffered */
    t_commit(h, 3, 5);
    t_bytes j = t_read(t_path("heaps/h1/journal.0"));
    ck_assert_uint_eq(hl_store_journal_bytes(h) + 16, j.n);
    free(j.p);
    ck_assert_int_eq(hl_store_heap_release(h), HL_STORE_OK);
    hl_store_close(s);

    struct stat st;
    ck_assert_int_eq(stat(t_path("heaps/h1/meta"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(stat(t_path("heaps/h1"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);

    t_seen seen = {0};
    s = t_recover(HL_FSYNC_ALWAYS, &seen);
    ck_assert_uint_eq(seen.n, 1);
    const t_heap *t = &seen.heaps[0];
    ck_assert_str_eq(t->id, "h1");
    ck_assert_str_eq(t->meta, "{\"id\": \"h1\", \"token\": \"secret\"}");
    ck_assert_ptr_null(t->snapshot);
    ck_assert_uint_eq(t->torn, 0);
    t_expect_records(t, 0, 5);
    t_commit(t->h, 5, 6);                                  /* the kept handle appends */
    s = t_reopen(s, HL_FSYNC_NO, &seen);
    t_expect_records(&seen.heaps[0], 0, 6);
    t_finish(s, &seen);
}
END_TEST

START_TEST(every_policy)
{
    const hl_fsync_policy policy = (hl_fsync_policy)_i;
    hl_store *s = t_open(policy, 0);
    hl_store_heap *a = t_create(s, "a"), *b = t_create(s, "b");
    for (int i = 0; i < 40; i += 4) {
        t_commit(a, i, i + 4);
        t_commit(b, 100 + i, 104 + i);
    }
    if (policy == HL_FSYNC_EVERYSEC)
        usleep(1200 * 1000);                               /* let the thread sync once */
    hl_store_close(s);                                     /* releases a and b */
    t_seen seen = {0};
    s = t_recover(policy, &seen);
    ck_assert_uint_eq(seen.n, 2);
    ck_assert_str_eq(seen.heaps[0].id, "a");               /* sorted by id */
    t_expect_records(&seen.heaps[0], 0, 40);
    t_expect_records(&seen.heaps[1], 100, 140);
    t_finish(s, &seen);
}
END_TEST

/* A background fdatasync that fails is reported by the next commit, which
 * writes nothing; once fdatasync works again commits go through. */
START_TEST(everysec_background_failure)
{
    hl_store_heap *h;
    hl_store *s = t_store_h(HL_FSYNC_EVERYSEC, 0, 0, 1, &h);
    t_fault("eio");
    usleep(1500 * 1000);                                   /* the thread's fdatasync fails */
    t_commit_fails(h, 1, HL_STORE_IO);
    t_fault(NULL);
    t_commit(h, 2, 3);
    t_seen seen = {0};
    s = t_reopen(s, HL_FSYNC_EVERYSEC, &seen);
    ck_assert_uint_eq(seen.heaps[0].n, 2);
    ck_assert_str_eq(seen.heaps[0].recs[0], t_rec(0));
    ck_assert_str_eq(seen.heaps[0].recs[1], t_rec(2));
    t_finish(s, &seen);
}
END_TEST

START_TEST(snapshot_rotation)
{
    hl_store_heap *h;
    hl_store *s = t_store_h(HL_FSYNC_ALWAYS, 100, 0, 1, &h);
    ck_assert(!hl_store_wants_snapshot(h));
    t_commit(h, 1, 4);
    ck_assert(hl_store_wants_snapshot(h));
    t_snapshot(h, "state after 0..3");
    ck_assert(!hl_store_wants_snapshot(h));
    ck_assert_uint_eq(hl_store_journal_bytes(h), 0);
    ck_assert(t_exists(t_path("heaps/h/snapshot.1")) && t_exists(t_path("heaps/h/journal.1")));
    ck_assert(!t_exists(t_path("heaps/h/journal.0")));
    t_commit(h, 4, 6);

    /* abort leaves the current generation as it was */
    hl_store_snap *w = NULL;
    ck_assert_int_eq(hl_store_snapshot_begin(h, &w), HL_STORE_OK);
    ck_assert_int_eq(hl_store_snapshot_write(w, "junk", 4), HL_STORE_OK);
    ck_assert(t_exists(t_path("heaps/h/snapshot.2.tmp")));
    hl_store_snapshot_abort(w);
    ck_assert(!t_exists(t_path("heaps/h/snapshot.2.tmp")));

    t_snapshot(h, "state after 0..5, which is a longer payload than the first");
    ck_assert(!t_exists(t_path("heaps/h/snapshot.1")) && !t_exists(t_path("heaps/h/journal.1")));
    ck_assert(t_exists(t_path("heaps/h/snapshot.2")) && t_exists(t_path("heaps/h/journal.2")));
    t_commit(h, 6, 8);
    hl_store_close(s);

    t_seen seen = {0};
    s = t_recover(HL_FSYNC_ALWAYS, &seen);
    ck_assert_str_eq(seen.heaps[0].snapshot, "state after 0..5, which is a longer payload than the first");
    t_expect_records(&seen.heaps[0], 6, 8);
    ck_assert_uint_eq(t_entries(t_path("heaps/h")), 3);    /* meta, snapshot.2, journal.2 */
    t_finish(s, &seen);
}
END_TEST

/* ENOSPC while streaming or finishing a snapshot: its files go, the heap
 * goes on with its current generation. */
START_TEST(snapshot_failure_keeps_current_files)
{
    hl_store_heap *h;
    hl_store *s = t_store_h(HL_FSYNC_ALWAYS, 0, 0, 2, &h);
    hl_store_snap *w = NULL;
    t_fault("enospc");
    ck_assert_int_eq(hl_store_snapshot_begin(h, &w), HL_STORE_NOSPACE);   /* its header */
    ck_assert_ptr_null(w);
    t_fault(NULL);
    ck_assert_int_eq(hl_store_snapshot_begin(h, &w), HL_STORE_OK);
    t_fault("enospc");
    ck_assert_int_eq(hl_store_snapshot_write(w, "payload", 7), HL_STORE_NOSPACE);
    ck_assert(!t_exists(t_path("heaps/h/snapshot.1.tmp")));    /* the space comes back at once */
    t_fault(NULL);
    ck_assert_int_eq(hl_store_snapshot_write(w, "more", 4), HL_STORE_NOSPACE);   /* sticks */
    ck_assert_int_eq(hl_store_snapshot_commit(w), HL_STORE_NOSPACE);
    ck_assert_int_eq(hl_store_snapshot_begin(h, &w), HL_STORE_OK);
    t_fault("eio");
    ck_assert_int_eq(hl_store_snapshot_write(w, "payload", 7), HL_STORE_IO);
    hl_store_snapshot_abort(w);                                 /* after a failure too */
    t_fault(NULL);
    ck_assert_int_eq(hl_store_snapshot_begin(h, &w), HL_STORE_OK);
    ck_assert_int_eq(hl_store_snapshot_write(w, "payload", 7), HL_STORE_OK);
    t_fault("eio");
    ck_assert_int_eq(hl_store_snapshot_commit(w), HL_STORE_IO);
    t_fault(NULL);
    ck_assert_uint_eq(t_entries(t_path("heaps/h")), 2);    /* meta, journal.0 */
    t_commit(h, 2, 3);
    t_seen seen = {0};
    s = t_reopen(s, HL_FSYNC_ALWAYS, &seen);
    ck_assert_ptr_null(seen.heaps[0].snapshot);
    t_expect_records(&seen.heaps[0], 0, 3);
    t_finish(s, &seen);
}
END_TEST

/* After a failed commit the caller rebuilds from the files: reread hands
 * over exactly what was committed, at generation 0 and after a snapshot. */
START_TEST(reread_after_failed_commit)
{
    hl_store_heap *h;
    hl_store *s = t_store_h(HL_FSYNC_ALWAYS, 0, 0, 2, &h);
    t_seen seen = {0};
    for (int round = 0; round < 2; round++) {
        t_fault("enospc");
        t_commit_fails(h, 5, HL_STORE_NOSPACE);
        t_fault(NULL);
        ck_assert_int_eq(hl_store_heap_reread(h, t_visit, &seen), HL_STORE_OK);
        ck_assert_ptr_eq(seen.heaps[0].h, h);
        if (round == 0) {
            ck_assert_ptr_null(seen.heaps[0].snapshot);
            t_expect_records(&seen.heaps[0], 0, 2);
            t_snapshot(h, "snap");
            t_commit(h, 2, 3);
        } else {
            ck_assert_str_eq(seen.heaps[0].snapshot, "snap");
            t_expect_records(&seen.heaps[0], 2, 3);
        }
        t_seen_free(&seen);
    }
    hl_store_close(s);
}
END_TEST
START_TEST(delete_then_recover)
{
    hl_store *s = t_open(HL_FSYNC_ALWAYS, 0);
    hl_store_heap *a = t_create(s, "a"), *b = t_create(s, "b");
    t_commit(a, 0, 2);
    t_commit(b, 0, 2);
    t_fault("eio");                                           /* the heaps/ fsync fails */
    ck_assert_int_eq(hl_store_heap_delete(a), HL_STORE_IO);
    t_fault(NULL);
    ck_assert(t_exists(t_path("heaps/a/journal.0")));
    t_commit(a, 2, 3);                                        /* still usable */
    ck_assert_int_eq(hl_store_heap_delete(a), HL_STORE_OK);
    ck_assert_uint_eq(t_entries(t_path("heaps")), 1);
    t_seen seen = {0};
    s = t_reopen(s, HL_FSYNC_ALWAYS, &seen);
    ck_assert_uint_eq(seen.n, 1);
    ck_assert_str_eq(seen.heaps[0].id, "b");
    t_finish(s, &seen);
}
END_TEST
START_TEST(second_open_is_refused)
{
    hl_store *s = t_open(HL_FSYNC_EVERYSEC, 0);
    char why[256] = "";
    ck_assert_ptr_null(hl_store_open(t_dir, HL_FSYNC_ALWAYS, 0, why, sizeof why));
    ck_assert_msg(strstr(why, "in use by another server") != NULL, "why: %s", why);
    ck_assert_ptr_nonnull(strstr(why, t_dir));
    hl_store_close(s);
    s = t_open(HL_FSYNC_ALWAYS, 0);
    hl_store_close(s);
    ck_assert_ptr_null(hl_store_open("/proc/heaplab-no-such-dir", HL_FSYNC_ALWAYS, 0, why, sizeof why));
    ck_assert_ptr_nonnull(strstr(why, "cannot create"));
}
END_TEST

/* Commits, snapshots, creates and deletes on many heaps while the everysec
 * thread syncs (the ThreadSanitizer build runs this too). */
typedef struct t_worker {
    hl_store *s;
    char id[16];
    int done;
} t_worker;

static void *t_work(void *arg)
{
    t_worker *w = arg;
    hl_store_heap *h = NULL;
    if (hl_store_heap_create(w->s, w->id, "{}", 2, &h) != HL_STORE_OK)
        return NULL;
    for (int i = 0; i < 300; i++) {
        char rec[32];                                         /* t_rec's buffers are not per thread */
        hl_store_append(h, rec, (size_t)snprintf(rec, sizeof rec, "%s-%d", w->id, i));
        if (hl_store_commit(h) != HL_STORE_OK)
            return NULL;
        if (i % 100 == 99) {
            hl_store_snap *sn = NULL;
            if (hl_store_snapshot_begin(h, &sn) != HL_STORE_OK || hl_store_snapshot_write(sn, "s", 1) != HL_STORE_OK ||
                hl_store_snapshot_commit(sn) != HL_STORE_OK)
                return NULL;
        }
        usleep(8000);                                         /* spans two passes of the thread */
    }
    w->done = hl_store_heap_delete(h) == HL_STORE_OK;
    return NULL;
}

START_TEST(concurrent_heaps)
{
    hl_store *s = t_open(HL_FSYNC_EVERYSEC, 0);
    t_worker w[6];
    pthread_t th[6];
    for (int i = 0; i < 6; i++) {
        w[i] = (t_worker){.s = s};
        snprintf(w[i].id, sizeof w[i].id, "w%d", i);
        ck_assert_int_eq(pthread_create(&th[i], NULL, t_work, &w[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(w[i].done, "worker %d failed", i);
    }
    ck_assert_uint_eq(t_entries(t_path("heaps")), 0);
    hl_store_close(s);
}
END_TEST

int main(void)
{
    setenv("HEAPLAB_FAULT_INJECTION", "1", 1);
    Suite *su = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, t_setup, t_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, crc32c_vectors);
    tcase_add_test(tc, policy_names);
    tcase_add_test(tc, round_trip);
    tcase_add_loop_test(tc, every_policy, HL_FSYNC_ALWAYS, HL_FSYNC_NO + 1);
    tcase_add_test(tc, everysec_background_failure);
    tcase_add_test(tc, snapshot_rotation);
    tcase_add_test(tc, snapshot_failure_keeps_current_files);
    tcase_add_test(tc, reread_after_failed_commit);
    tcase_add_test(tc, delete_then_recover);
    tcase_add_test(tc, second_open_is_refused);
    tcase_add_test(tc, concurrent_heaps);
    t_store_recovery_tests(tc);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
