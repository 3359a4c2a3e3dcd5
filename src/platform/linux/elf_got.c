/* Rewrites import slots of the ELF objects loaded in this process (platform/got.h). For each
 * object (dl_iterate_phdr) its dynamic section gives the symbol and string tables and the
 * relocations of its PLT (DT_JMPREL) and of its data (DT_RELA: GLOB_DAT slots of objects built
 * with -fno-plt); a JUMP_SLOT or GLOB_DAT relocation of a hooked name is a slot to rewrite. Slots
 * may be read-only (RELRO): their page is made writable for the store and given back its
 * protection. Every rewrite is remembered for pmt__got_restore. Called with the GIL held by one
 * thread at a time; a slot store is one aligned pointer write, atomic for other threads. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/error.h"
#include "platform/got.h"

#if defined(__x86_64__)
#define JUMP_SLOT R_X86_64_JUMP_SLOT
#define GLOB_DAT  R_X86_64_GLOB_DAT
#elif defined(__aarch64__)
#define JUMP_SLOT R_AARCH64_JUMP_SLOT
#define GLOB_DAT  R_AARCH64_GLOB_DAT
#endif

typedef struct patched_slot {
    void **slot;
    void *before;
} patched_slot;

/* A dlopen on any thread patches the new object: one patcher at a time (not a hot path). */
static pthread_mutex_t patching = PTHREAD_MUTEX_INITIALIZER;
static patched_slot *patched;
static size_t patched_count, patched_capacity;

typedef struct patch_job {
    const pmt__got_hook *hooks;
    size_t count;
    const char *self_path;
    int slots;
    int failed;
} patch_job;

static int already_patched(void **slot)
{
    for (size_t i = 0; i < patched_count; i++)
        if (patched[i].slot == slot)
            return 1;
    return 0;
}

static int write_slot(void **slot, void *value)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)slot & ~(uintptr_t)(page - 1);
    if (mprotect((void *)start, (size_t)page, PROT_READ | PROT_WRITE) != 0)
        return -1;
    __atomic_store_n(slot, value, __ATOMIC_RELEASE);
    /* RELRO pages were read-only, the GOT's writable: leaving it writable is what the loader
     * does for lazy binding, and the page's old protection is not known without /proc. */
    return 0;
}

static int remember(void **slot, void *before)
{
    if (patched_count == patched_capacity) {
        size_t capacity = patched_capacity ? patched_capacity * 2 : 64;
        patched_slot *grown = realloc(patched, capacity * sizeof *grown);
        if (!grown)
            return -1;
        patched = grown;
        patched_capacity = capacity;
    }
    patched[patched_count++] = (patched_slot){slot, before};
    return 0;
}

static int skipped(const char *path, const char *self_path)
{
    if (self_path && strcmp(path, self_path) == 0)
        return 1;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return strncmp(base, "libc.so", 7) == 0 || strncmp(base, "ld-linux", 8) == 0 ||
           strncmp(base, "linux-vdso", 10) == 0 || strncmp(base, "libpymemtrace_native", 20) == 0;
}

/* A dynamic entry's address: the loader relocates most pointer entries in place; one it left as
 * an offset is below the object's base. */
static uintptr_t address_of(ElfW(Addr) value, ElfW(Addr) base)
{
    return value < base ? value + base : value;
}

#if defined(JUMP_SLOT)
static void patch_relocations(patch_job *job, ElfW(Addr) base, const ElfW(Rela) * rel, size_t bytes,
                              const ElfW(Sym) * symtab, const char *strtab)
{
    for (size_t i = 0; i < bytes / sizeof *rel; i++) {
        unsigned long type = ELF64_R_TYPE(rel[i].r_info);
        if (type != JUMP_SLOT && type != GLOB_DAT)
            continue;
        const char *name = strtab + symtab[ELF64_R_SYM(rel[i].r_info)].st_name;
        for (size_t h = 0; h < job->count; h++) {
            if (strcmp(name, job->hooks[h].name) != 0)
                continue;
            void **slot = (void **)(base + rel[i].r_offset);
            if (already_patched(slot) || *slot == job->hooks[h].replacement)
                break;
            void *before = *slot;
            if (remember(slot, before) != 0 || write_slot(slot, job->hooks[h].replacement) != 0) {
                job->failed = 1;
                break;
            }
            if (job->hooks[h].original && !*job->hooks[h].original)
                *job->hooks[h].original = before;
            job->slots++;
            break;
        }
    }
}

static int patch_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    patch_job *job = data;
    const char *path = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : "";
    if (path[0] && skipped(path, job->self_path))
        return 0;
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    if (!dyn)
        return 0;
    ElfW(Addr) base = info->dlpi_addr;
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    const ElfW(Rela) *jmprel = NULL, *rela = NULL;
    size_t jmprel_bytes = 0, rela_bytes = 0;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB:
            symtab = (const ElfW(Sym) *)address_of(dyn->d_un.d_ptr, base);
            break;
        case DT_STRTAB:
            strtab = (const char *)address_of(dyn->d_un.d_ptr, base);
            break;
        case DT_JMPREL:
            jmprel = (const ElfW(Rela) *)address_of(dyn->d_un.d_ptr, base);
            break;
        case DT_PLTRELSZ:
            jmprel_bytes = dyn->d_un.d_val;
            break;
        case DT_RELA:
            rela = (const ElfW(Rela) *)address_of(dyn->d_un.d_ptr, base);
            break;
        case DT_RELASZ:
            rela_bytes = dyn->d_un.d_val;
            break;
        default:
            break;
        }
    }
    if (!symtab || !strtab)
        return 0;
    if (jmprel)
        patch_relocations(job, base, jmprel, jmprel_bytes, symtab, strtab);
    if (rela)
        patch_relocations(job, base, rela, rela_bytes, symtab, strtab);
    return 0;
}
#endif

int pmt__got_patch(const pmt__got_hook *hooks, size_t count, const void *self)
{
#if defined(JUMP_SLOT)
    Dl_info me;
    patch_job job = {hooks, count, NULL, 0, 0};
    if (self && dladdr(self, &me) && me.dli_fname)
        job.self_path = me.dli_fname;
    pthread_mutex_lock(&patching);
    dl_iterate_phdr(patch_object, &job);
    pthread_mutex_unlock(&patching);
    if (job.failed)
        return pmt__fail(PMT_EIO, "cannot rewrite an import slot (mprotect refused)");
    return job.slots;
#else
    (void)hooks;
    (void)count;
    (void)self;
    return pmt__fail(PMT_ENOTSUP, "import slots of this architecture are not known");
#endif
}

void pmt__got_restore(void)
{
    pthread_mutex_lock(&patching);
    for (size_t i = patched_count; i-- > 0;)
        write_slot(patched[i].slot, patched[i].before);
    free(patched);
    patched = NULL;
    patched_count = patched_capacity = 0;
    pthread_mutex_unlock(&patching);
}
