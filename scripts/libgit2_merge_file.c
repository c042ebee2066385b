/* libgit2's three-way file merge in a loop, the peer that scripts/bench-text-merge.sh runs
 * beside `trellis bench text-merge` on the same three files (docs/benchmarks.md).
 * Usage: libgit2_merge_file OURS BASE THEIRS [SECONDS] [RUNS]
 * Prints one line per run: "<merges per second>", then the merged bytes of one merge to the
 * file named by $MERGED when it is set, so the script can check both tools agree. */
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "libgit2_merge_file: cannot read %s\n", path); exit(2); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *bytes = malloc(n > 0 ? (size_t)n : 1);
    if (!bytes || fread(bytes, 1, (size_t)n, f) != (size_t)n) { fprintf(stderr, "libgit2_merge_file: short read\n"); exit(2); }
    fclose(f);
    *size = (size_t)n;
    return bytes;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: libgit2_merge_file OURS BASE THEIRS [SECONDS] [RUNS]\n"); return 2; }
    double seconds = argc > 4 ? atof(argv[4]) : 1.0;
    int runs = argc > 5 ? atoi(argv[5]) : 1;
    git_libgit2_init();
    git_merge_file_input in[3];
    const char *paths[3] = { argv[2], argv[1], argv[3] }; /* ancestor, ours, theirs */
    for (int i = 0; i < 3; i++) {
        git_merge_file_input init = GIT_MERGE_FILE_INPUT_INIT;
        in[i] = init;
        in[i].ptr = slurp(paths[i], &in[i].size);
        in[i].path = paths[i];
    }
    git_merge_file_options opts = GIT_MERGE_FILE_OPTIONS_INIT;
    for (int r = 0; r < runs; r++) {
        long count = 0;
        double start = now(), elapsed;
        do {
            for (int k = 0; k < 256; k++) {
                git_merge_file_result out = {0};
                if (git_merge_file(&out, &in[0], &in[1], &in[2], &opts) != 0) { fprintf(stderr, "git_merge_file failed\n"); return 1; }
                git_merge_file_result_free(&out);
            }
            count += 256;
            elapsed = now() - start;
        } while (elapsed < seconds);
        printf("%.0f\n", (double)count / elapsed);
    }
    const char *merged = getenv("MERGED");
    if (merged) {
        git_merge_file_result out = {0};
        if (git_merge_file(&out, &in[0], &in[1], &in[2], &opts) != 0) return 1;
        FILE *f = fopen(merged, "wb");
        if (!f || fwrite(out.ptr, 1, out.len, f) != out.len) return 2;
        fclose(f);
        git_merge_file_result_free(&out);
    }
    git_libgit2_shutdown();
    return 0;
}
