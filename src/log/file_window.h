/* A writable window over a log file's tail: a shared mapping whose bytes are in the file the
 * moment they are stored, so that a process killed at any moment keeps every whole row it wrote
 * (the text log's zero-loss mode). Blocks are allocated before the window is used: a full disk
 * fails when the window moves, never with SIGBUS. */
#ifndef PMT_LOG_FILE_WINDOW_H
#define PMT_LOG_FILE_WINDOW_H

#include <stddef.h>
#include <stdint.h>

typedef struct pmt__file_window {
    unsigned char *map; /* NULL: none */
    size_t map_size;
} pmt__file_window;

/* Maps the file from its page boundary at or before start to start + size, the file grown and
 * its blocks allocated; returns where byte `start` is in the mapping. NULL with errno set (the
 * previous window, if any, is kept). */
char *pmt__file_window_move(pmt__file_window *window, int fd, uint64_t start, size_t size);

/* Unmaps the window (its bytes stay in the file). */
void pmt__file_window_close(pmt__file_window *window);

#endif
