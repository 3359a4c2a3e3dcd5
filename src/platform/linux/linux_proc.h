/* Reading RSS from /proc on Linux: statm on a kept descriptor (reopened after fork), and the
 * per-member split from status. Shared by every Linux provider. */
#ifndef PMT_RSS_LINUX_PROC_H
#define PMT_RSS_LINUX_PROC_H

#include <stdint.h>

typedef struct pmt__statm {
    int fd;
    uint64_t generation; /* pmt__fork_generation() when fd was opened */
} pmt__statm;

#define PMT__STATM_INIT                                                                            \
    {                                                                                              \
        -1, 0                                                                                      \
    }

int pmt__statm_open(pmt__statm *r);
/* Resident bytes; reopens the file first in a forked child. */
int pmt__statm_read(pmt__statm *r, uint64_t *out_bytes);
void pmt__statm_close(pmt__statm *r);

/* The kernel's RSS members as the kmem:rss_stat tracepoint numbers them. */
enum { PMT__MM_FILEPAGES = 0, PMT__MM_ANONPAGES = 1, PMT__MM_SWAPENTS = 2, PMT__MM_SHMEMPAGES = 3 };

/* RssFile, RssAnon and RssShmem of /proc/self/status in bytes, by member (swap entries 0). */
int pmt__status_members(uint64_t members[4]);

#endif
