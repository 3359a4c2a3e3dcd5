/* Stand-in for FreeBSD's <sys/user.h>: struct kinfo_proc's field src/platform/freebsd/ reads
 * (ki_rssize: resident set size in pages, a segsz_t). */
#ifndef PMT_STUB_SYS_USER_H
#define PMT_STUB_SYS_USER_H
typedef long segsz_t;
struct kinfo_proc {
    int ki_structsize;
    segsz_t ki_rssize;
    char ki_rest[1024];
};
#endif
