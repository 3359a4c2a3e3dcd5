#include <pymemtrace/version.h>

int pmt_version_number(void)
{
    return PMT_VERSION_NUMBER;
}

const char *pmt_version_string(void)
{
    return PMT_VERSION_STRING;
}
