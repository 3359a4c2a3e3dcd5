/* What the file sinks (text, binary) share: a descriptor they write with whole writes, the name
 * it was created under, and the fork protocol of pmt_sink_ops (forget the parent's file, reopen
 * as the child's). Log files are created safely: never overwriting, never following a symbolic
 * link, private. */
#ifndef PMT_LOG_FILE_SINK_H
#define PMT_LOG_FILE_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct pmt__log_file {
    int fd;           /* -1: none (forgotten in a child, or never opened) */
    int owns_fd;      /* created here and closed here; 0: a caller's descriptor */
    char *path;       /* the name used; NULL for a caller's descriptor */
    size_t last_done; /* bytes the last write call wrote, also when it failed part way */
} pmt__log_file;

/* Creates path (or YYMMDD_HHMMSS_PID<extension> in the current directory when path is NULL)
 * with mode 0600 and O_EXCL; when the name exists, inserts _1, _2, ... before the extension. */
int pmt__log_file_create(pmt__log_file *file, const char *path, const char *extension);

/* A caller's open descriptor: written, never closed, never reopened in a child. */
void pmt__log_file_adopt(pmt__log_file *file, int fd);

/* Writes every byte of the iovecs (count <= 2), retrying after EINTR and short writes. 0, or -1
 * with errno set; either way file->last_done says how many bytes reached the file. */
int pmt__log_file_writev(pmt__log_file *file, const struct iovec *iov, int count);
int pmt__log_file_write(pmt__log_file *file, const void *data, size_t size);

/* In a child of fork: the file is the parent's. An own descriptor is closed unwritten; a
 * caller's is left to the caller. Either way nothing is written to it again. */
void pmt__log_file_forget(pmt__log_file *file);

/* A following child's own file (PMT_FORK_FOLLOW): created from the parent's name with
 * ".pid<pid>" before the extension (pmt__log_file_child_name), as pmt__log_file_create does. A
 * caller's descriptor has no name to follow: PMT_ENOTSUP. */
int pmt__log_file_reopen_child(pmt__log_file *file, int64_t pid, const char *extension);

/* Closes an own descriptor and frees the name. */
void pmt__log_file_close(pmt__log_file *file);

/* The name of a forked child's log: path with ".pid<pid>" where an ordinal would go, before the
 * extension of the last component. malloc'd; NULL when out of memory. */
char *pmt__log_file_child_name(const char *path, long pid);

#endif
