/* Creating log files safely: never overwriting, never following a symbolic link, private. */
#ifndef PMT_CORE_LOG_FILE_H
#define PMT_CORE_LOG_FILE_H

/* Creates path (or YYMMDD_HHMMSS_PID<extension> in the current directory when path is NULL)
 * with mode 0600 and O_EXCL; when the name exists, inserts _1, _2, ... before the extension. On
 * success *out_path is the malloc'd name used and *out_fd the open descriptor. */
int pmt__log_file_create(const char *path, const char *extension, char **out_path, int *out_fd);

/* The name of a forked child's log (PMT_FORK_FOLLOW): path with ".pid<pid>" where an ordinal
 * would go, before the extension of the last component. malloc'd; NULL when out of memory. */
char *pmt__log_file_child_name(const char *path, long pid);

#endif
