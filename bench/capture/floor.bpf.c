// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Empty programs: the cost of the hook itself (the "probe floor") on this machine. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tracepoint/syscalls/sys_enter_write")
int floor_enter_write(void *ctx) { return 0; }

SEC("tracepoint/syscalls/sys_exit_write")
int floor_exit_write(void *ctx) { return 0; }

SEC("uprobe")
int floor_uprobe(void *ctx) { return 0; }

SEC("uretprobe")
int floor_uretprobe(void *ctx) { return 0; }
