/* main.c — hl-scenario's command line:
 *   hl-scenario [--no-check] FILE.scn OUT.py
 *   hl-scenario [--no-check] --random SEED --ops N OUT.py [--dump FILE.scn]
 * Prints the model's observation stream on stdout, one token per line; the
 * Python program prints its own stream the same way.  Exit 0 when the
 * scenario ran, 2 on a scenario error (unknown label, object without an
 * access path, unexpected model error, invariant violation, ...).
 */
#include "scenario.h"

/* ------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(stderr, "usage: hl-scenario [--no-check] [--profile 3.11|3.12|3.13] FILE.scn OUT.py\n"
                    "       hl-scenario [--no-check] [--profile P] --random SEED --ops N [--dump F.scn] OUT.py\n");
    exit(2);
}

int main(int argc, char **argv)
{
    R.check = true;
    R.thr[0] = 700;
    R.thr[1] = 10;
    R.thr[2] = 10;
    const char *seed = NULL, *ops = "1000", *dump = NULL;
    const char *pos[2];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-check") == 0)
            R.check = false;
        else if (strcmp(argv[i], "--random") == 0 && i + 1 < argc)
            seed = argv[++i];
        else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
            ops = argv[++i];
        else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc)
            dump = argv[++i];
        else if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
            if (!hl_profile_from_name(argv[++i], &R.profile))
                usage();
            R.thr[0] = R.profile >= HL_PROFILE_3_13 ? 2000 : 700;
        }
        else if (argv[i][0] == '-' && argv[i][1] == '-')
            usage();
        else if (npos < 2)
            pos[npos++] = argv[i];
        else
            usage();
    }
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    if (seed) {
        if (npos != 1)
            usage();
        if (dump) {
            R.dump = fopen(dump, "w");
            if (!R.dump)
                die("cannot write %s", dump);
        }
        run_random(strtoull(seed, NULL, 10), strtol(ops, NULL, 10), pos[0]);
        if (R.dump)
            fclose(R.dump);
    } else {
        if (npos != 2)
            usage();
        run_file(pos[0], pos[1]);
    }
    fflush(stdout);
    return 0;
}

