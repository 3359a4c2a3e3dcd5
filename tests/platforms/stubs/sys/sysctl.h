/* Stand-in for FreeBSD's <sys/sysctl.h>: only what src/platform/freebsd/ calls (sysctl(3)). */
#ifndef PMT_STUB_SYS_SYSCTL_H
#define PMT_STUB_SYS_SYSCTL_H
#include <stddef.h>
#define CTL_KERN      1
#define KERN_PROC     14
#define KERN_PROC_PID 1
int sysctl(const int *name, unsigned int namelen, void *oldp, size_t *oldlenp, const void *newp,
           size_t newlen);
#endif
