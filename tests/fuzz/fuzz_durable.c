/* fuzz_durable.c — libFuzzer target for what recovery reads from disk.
 *
 * The first byte picks the reader:
 *   0..127   the journal scanner (api/journal.h) on the rest, as a journal
 *            of generation 0, then every record it accepts replayed
 *            (core/oplog.h) into one fresh heap with small limits;
 *   128..255 the rest split into records by a u16 length prefix and
 *            replayed, so replay sees records no checksum vouched for.
 *
 * Oracles, each aborts: hl_heap_check after every record that replays; a
 * record refused as malformed or failed must have changed nothing (next id,
 * live objects, allocator bytes); ASan/UBSan; LeakSanitizer.  Heap images
 * (core/image.h) are not fuzzed: they are only ever read after their
 * checksum, and promise no more than that.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "journal.h"
#include "oplog.h"

static void replay_one(hl_heap *h, const uint8_t *rec, size_t len)
{
    hl_heap_totals before, after;
    hl_heap_totals_get(h, &before);
    uint64_t next = hl_heap_next_id(h);
    char why[200];
    hl_replay_status st = hl_oplog_replay(h, rec, len, why, sizeof why);
    if (st == HL_REPLAY_MALFORMED || st == HL_REPLAY_FAILED) {
        hl_heap_totals_get(h, &after);
        if (hl_heap_next_id(h) != next || after.objects != before.objects || after.bytes != before.bytes) {
            fprintf(stderr, "a refused record changed the heap (%s)\n", why);
            abort();
        }
    }
    if (!hl_heap_check(h, why, sizeof why)) {
        fprintf(stderr, "hl_heap_check after replay: %s\n", why);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    hl_heap_config cfg;
    hl_heap_config_default(&cfg);
    cfg.max_objects = 2000;
    cfg.max_bytes = 1 << 20;
    cfg.arena_phase = 0;
    hl_heap *h = hl_heap_new(&cfg);
    if (h == NULL)
        return 0;
    const uint8_t *p = data + 1, *end = data + size;
    if (data[0] < 128) {
        hl_journal_scan scan;
        char why[256];
        if (hl_journal_scan_image(p, (size_t)(end - p), 0, "fuzz", &scan, why, sizeof why) == HL_JOURNAL_OK)
            for (size_t i = 0; i < scan.n; i++)
                replay_one(h, scan.records[i], scan.lens[i]);
        hl_journal_scan_free(&scan);
    } else {
        while (end - p >= 2) {
            size_t n = (size_t)p[0] | (size_t)p[1] << 8;
            p += 2;
            if (n > (size_t)(end - p))
                n = (size_t)(end - p);
            replay_one(h, p, n);
            p += n;
        }
    }
    hl_heap_delete(h);
    return 0;
}
