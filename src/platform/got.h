/* The seam for covering a running process's native allocations without LD_PRELOAD: rewriting
 * the loaded shared objects' import slots (the GOT entries their calls of malloc, free, ... go
 * through) to point at replacement functions, as memray does. One file per object format:
 * linux/elf_got.c (ELF); unsupported/got_unsupported.c elsewhere. */
#ifndef PMT_PLATFORM_GOT_H
#define PMT_PLATFORM_GOT_H

#include <stddef.h>

/* One function to replace: its name, the replacement, and where the function the slots held
 * before goes (the first one found; the caller falls back on its own lookup when none is). */
typedef struct pmt__got_hook {
    const char *name;
    void *replacement;
    void **original;
} pmt__got_hook;

/* Points every loaded object's import slots for these names at the replacements, except in the
 * object that contains `self` (the caller's own code) and the C library and dynamic loader
 * themselves. Objects loaded later are covered by calling it again (it only patches slots not
 * yet patched). Returns the number of slots patched, or -1 (PMT_ENOTSUP set) where the platform
 * cannot. */
int pmt__got_patch(const pmt__got_hook *hooks, size_t count, const void *self);

/* Puts every slot patched back as it was. */
void pmt__got_restore(void);

#endif
