/* The native-allocation interposer's own cost: malloc(64)/free pairs in a C loop, in ns per
 * pair. Run three ways by bench/native.sh: without the interposer (libc's cost), with it
 * preloaded and no hook (what every process under `run --native` pays when nothing traces), and
 * with it preloaded and a hook that counts (the interposer's full path; a tracer's recording
 * adds its pipeline on top, measured by bench/allocations.py).
 *
 *   pmt_native_loop [--hook] [--pairs N] [--runs N]   prints the median ns per pair */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pymemtrace/native.h>

static uint64_t counted;

static void count_hook(int kind, int allocator, void *address, size_t size, void *old_address)
{
    (void)kind;
    (void)allocator;
    (void)address;
    (void)size;
    (void)old_address;
    counted++;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long pairs = 10000000, runs = 9;
    int hook = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--hook") == 0)
            hook = 1;
        else if (strcmp(argv[i], "--pairs") == 0 && i + 1 < argc)
            pairs = atol(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atol(argv[++i]);
    }
    pmt_native_hook (*set_hook)(pmt_native_hook) =
        (pmt_native_hook(*)(pmt_native_hook))(uintptr_t)dlsym(RTLD_DEFAULT, "pmt_native_set_hook");
    if (hook && !set_hook) {
        fprintf(stderr, "--hook needs the interposer preloaded\n");
        return 2;
    }
    if (hook)
        set_hook(count_hook);
    double *ns = calloc((size_t)runs, sizeof *ns);
    void *volatile sink;
    for (long r = 0; r < runs; r++) {
        uint64_t start = now_ns();
        for (long i = 0; i < pairs; i++) {
            sink = malloc(64);
            free(sink);
        }
        ns[r] = (double)(now_ns() - start) / (double)pairs;
    }
    qsort(ns, (size_t)runs, sizeof *ns, by_value);
    printf("%.2f ns per malloc/free pair (median of %ld runs of %ld)%s, %llu calls seen\n",
           ns[runs / 2], runs, pairs,
           set_hook ? (hook ? " interposer + counting hook" : " interposer, no hook") : " libc",
           (unsigned long long)counted);
    free(ns);
    return 0;
}
