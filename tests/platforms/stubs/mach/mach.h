/* Stand-in for macOS's <mach/mach.h>: only what src/platform/macos/ calls, declared as Apple's
 * headers and documentation declare it (task_info(3), mach_task_basic_info), so that Debian can
 * check those files' syntax and types. Not a header to build against. */
#ifndef PMT_STUB_MACH_H
#define PMT_STUB_MACH_H
#include <stdint.h>
typedef int kern_return_t;
typedef unsigned int mach_port_t;
typedef mach_port_t task_t;
typedef unsigned int natural_t;
typedef natural_t mach_msg_type_number_t;
typedef natural_t task_flavor_t;
typedef int *task_info_t;
typedef uint64_t mach_vm_size_t;
typedef int integer_t;
typedef int policy_t;
typedef struct time_value {
    integer_t seconds, microseconds;
} time_value_t;
struct mach_task_basic_info {
    mach_vm_size_t virtual_size;
    mach_vm_size_t resident_size;
    mach_vm_size_t resident_size_max;
    time_value_t user_time;
    time_value_t system_time;
    policy_t policy;
    integer_t suspend_count;
};
typedef struct mach_task_basic_info mach_task_basic_info_data_t;
#define MACH_TASK_BASIC_INFO 20
#define MACH_TASK_BASIC_INFO_COUNT                                                                 \
    ((mach_msg_type_number_t)(sizeof(mach_task_basic_info_data_t) / sizeof(natural_t)))
#define KERN_SUCCESS 0
mach_port_t mach_task_self(void);
kern_return_t task_info(task_t target_task, task_flavor_t flavor, task_info_t task_info_out,
                        mach_msg_type_number_t *task_info_outCnt);
#endif
