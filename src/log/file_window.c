/* The file window (file_window.h). */
#define _GNU_SOURCE
#include "log/file_window.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

char *pmt__file_window_move(pmt__file_window *w, int fd, uint64_t start, size_t size)
{
    long page_size = sysconf(_SC_PAGESIZE);
    uint64_t page = page_size > 0 ? (uint64_t)page_size : 4096;
    uint64_t aligned = start / page * page;
    size_t length = (size_t)(start - aligned) + size;
    int rc = posix_fallocate(fd, (off_t)aligned, (off_t)length);
    if (rc != 0) {
        errno = rc;
        return NULL;
    }
    void *map = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)aligned);
    if (map == MAP_FAILED)
        return NULL;
    pmt__file_window_close(w);
    w->map = map;
    w->map_size = length;
    return (char *)map + (start - aligned);
}

void pmt__file_window_close(pmt__file_window *w)
{
    if (w->map)
        munmap(w->map, w->map_size);
    w->map = NULL;
    w->map_size = 0;
}
