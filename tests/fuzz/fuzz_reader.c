/* libFuzzer target for the binary log reader: any bytes, as a file, must open (or be refused),
 * iterate, seek and report a status without a crash, a leak or undefined behaviour. The events
 * read are also replayed into a text sink writing to /dev/null, so that names and kinds of any
 * shape go through the text formatting too.
 *
 *   fuzz_reader -max_total_time=60 -rss_limit_mb=2048 WORK_DIR tests/fuzz/corpus */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <pymemtrace/pymemtrace.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1, devnull = -1;
static char path[64];

static void setup(void)
{
    memfd = memfd_create("pmt-fuzz-input", MFD_CLOEXEC);
    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (memfd < 0 || devnull < 0)
        abort();
    snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
}

/* Every string of an event is NUL-terminated (ASan checks the reads). */
static size_t touch(const char *s)
{
    return s ? strlen(s) : 0;
}

static size_t read_some(pmt_reader *r, size_t max, pmt_sink *text)
{
    const pmt_event *ev;
    size_t n = 0;
    while (n < max && pmt_reader_next(r, &ev) == 1) {
        if (!ev || !ev->file || !ev->function || ev->struct_size < sizeof *ev)
            abort();
        touch(ev->file);
        touch(ev->function);
        touch(ev->message);
        if (text)
            pmt_sink_write(text, ev);
        n++;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memfd < 0)
        setup();
    if (ftruncate(memfd, 0) != 0 || (size && pwrite(memfd, data, size, 0) != (ssize_t)size))
        abort();
    pmt_reader *r = (pmt_reader *)&r;
    int rc = pmt_reader_open(&r, path);
    if (rc != PMT_OK) {
        if (r || (rc != PMT_EFORMAT && rc != PMT_EIO && rc != PMT_ENOMEM))
            abort();
        return 0;
    }
    const pmt_log_info *info = pmt_reader_info(r);
    if (!info || !info->library_version || !info->runtime || !info->rss_provider)
        abort();
    touch(info->library_version);
    touch(info->runtime);
    touch(info->rss_provider);
    touch(info->message);

    pmt_sink *text = NULL;
    if (pmt_sink_text_fd(&text, devnull, info->message) != PMT_OK)
        text = NULL;
    size_t n = read_some(r, SIZE_MAX, text);
    uint64_t offset = 0;
    const char *reason = NULL;
    int status = pmt_reader_status(r, &offset, &reason);
    if (!reason || offset > size || (status == PMT_OK && reason[0] == '\0'))
        abort();
    if (read_some(r, 1, NULL) != 0) /* the end stays the end */
        abort();

    /* Seek to targets taken from the input, to the start and past the end. */
    uint64_t target = 0;
    if (size >= 8)
        memcpy(&target, data + size - 8, 8);
    pmt_reader_seek_seq(r, target % (n + 2));
    read_some(r, 8, NULL);
    pmt_reader_seek_time(r, target);
    read_some(r, 8, NULL);
    pmt_reader_seek_seq(r, UINT64_MAX);
    read_some(r, 2, NULL);
    pmt_reader_seek_seq(r, 0);
    read_some(r, n + 1, NULL);
    pmt_reader_status(r, &offset, &reason);
    pmt_reader_close(r);
    pmt_sink_destroy(text);
    return 0;
}
