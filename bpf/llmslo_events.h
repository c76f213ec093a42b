/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * llmslo event layouts: the ONE source of truth shared by the eBPF programs (bpf/NAME.bpf.c),
 * the native loader (native/src) and, through test/capture/layout.test.ts, the TypeScript
 * decoder (src/capture/layout.ts). Every struct is little-endian, naturally aligned and padded
 * explicitly so that clang, gcc and the decoder agree without #pragma pack.
 *
 * A change that breaks readers bumps LLMSLO_EVENTS_VERSION (recordings store it in their header).
 */
#ifndef LLMSLO_EVENTS_H
#define LLMSLO_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define LLMSLO_EVENTS_VERSION 1

/* Payload bytes per data record. Larger messages become continuation records (offset > 0). */
#define LLMSLO_CHUNK_BYTES 4096
/* Hard upper bound on continuation records per message (also the verifier's loop bound). */
#define LLMSLO_MAX_CHUNKS 64
/* iovecs walked per readv/writev/sendmsg/recvmsg (Node's corked HTTP writes use dozens). */
#define LLMSLO_MAX_IOV 64
/* messages walked per sendmmsg/recvmmsg (glibc sends A+AAAA DNS queries as two). */
#define LLMSLO_MAX_MMSG 4
/* Cgroups whose tasks are not captured (capture.exclude_cgroups, with their descendants). */
#define LLMSLO_MAX_SKIP_CGROUPS 4096
/* Connections whose payloads user space no longer wants (e.g. the server end of a call whose
 * client end is captured too): TCP events still flow, data records stop. */
#define LLMSLO_MAX_MUTED_CONNS 65536
#define LLMSLO_COMM_LEN 16
#define LLMSLO_PATH_LEN 256

enum llmslo_event_type {
	LLMSLO_EV_DATA = 1,        /* socket or TLS payload */
	LLMSLO_EV_CONN = 2,        /* TCP state change (connect, established, close, ...) */
	LLMSLO_EV_RETRANSMIT = 3,  /* tcp:tcp_retransmit_skb */
	LLMSLO_EV_RESET = 4,       /* tcp:tcp_send_reset / tcp:tcp_receive_reset */
	LLMSLO_EV_EXEC = 5,        /* sched:sched_process_exec */
	LLMSLO_EV_EXIT = 6,        /* sched:sched_process_exit (thread-group leader only) */
	LLMSLO_EV_TLS_BIND = 7,    /* an SSL* was learned to belong to a socket connection */
};

enum llmslo_direction {
	LLMSLO_DIR_EGRESS = 0,  /* write / send / SSL_write */
	LLMSLO_DIR_INGRESS = 1, /* read / recv / SSL_read */
};

enum llmslo_source {
	LLMSLO_SRC_SOCKET = 0, /* syscall payload (plaintext protocol on the wire) */
	LLMSLO_SRC_LIBSSL = 1, /* uprobe on a shared libssl.so */
	LLMSLO_SRC_NODE = 2,   /* uprobe on an executable that links OpenSSL statically (node) */
};

enum llmslo_data_flags {
	LLMSLO_DF_TRUNCATED = 1 << 0,  /* the message had more bytes than were captured */
	LLMSLO_DF_UNBOUND = 1 << 1,    /* TLS record whose SSL* is not yet bound to a connection */
	LLMSLO_DF_READ_FAULT = 1 << 2, /* bpf_probe_read_user failed (page not resident) */
	LLMSLO_DF_UDP = 1 << 3,        /* datagram socket */
	LLMSLO_DF_SIZES_ONLY = 1 << 4, /* a muted connection's message: msg_len only, no payload */
};

/* Values of the muted_conns map: what a muted connection's messages still ship. */
enum llmslo_mute {
	LLMSLO_MUTE_DROP = 1,  /* nothing */
	LLMSLO_MUTE_SIZES = 2, /* one payload-less record per message (LLMSLO_DF_SIZES_ONLY) */
};

enum llmslo_syscall {
	LLMSLO_SYS_READ = 1, LLMSLO_SYS_WRITE, LLMSLO_SYS_READV, LLMSLO_SYS_WRITEV,
	LLMSLO_SYS_SENDTO, LLMSLO_SYS_RECVFROM, LLMSLO_SYS_SENDMSG, LLMSLO_SYS_RECVMSG,
	LLMSLO_SYS_SENDMMSG, LLMSLO_SYS_RECVMMSG,
	LLMSLO_SYS_SSL_WRITE = 16, LLMSLO_SYS_SSL_WRITE_EX, LLMSLO_SYS_SSL_READ, LLMSLO_SYS_SSL_READ_EX,
};

enum llmslo_reset_dir {
	LLMSLO_RESET_SENT = 0,
	LLMSLO_RESET_RECEIVED = 1,
};

/* 32 bytes: every record starts with this. */
struct llmslo_hdr {
	__u16 type;     /* enum llmslo_event_type */
	__u16 version;  /* LLMSLO_EVENTS_VERSION */
	__u32 size;     /* total record bytes including this header and any payload */
	__u64 ts_ns;    /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 pid;      /* tgid; 0 when the event fires in softirq with no owning task */
	__u32 tid;
	__u64 cgroup_id;/* cgroup v2 id of the task (or of the connection's owner) */
};

/* 40 bytes. Addresses in network order; IPv4 uses the first 4 bytes. Ports in host order. */
struct llmslo_tuple {
	__u8 laddr[16];
	__u8 raddr[16];
	__u16 lport;
	__u16 rport;
	__u16 family;   /* AF_INET (2) or AF_INET6 (10) */
	__u16 _pad0;
};

/* 112 bytes + payload_len. */
struct llmslo_data_event {
	struct llmslo_hdr hdr;      /* 0 */
	__u64 conn_id;              /* 32: stable id of the socket connection (0 = unbound TLS) */
	__u64 ssl_ptr;              /* 40: SSL* for TLS records, else 0 */
	struct llmslo_tuple tuple;  /* 48 */
	__s32 fd;                   /* 88: -1 when unknown (TLS before binding) */
	__u32 msg_len;              /* 92: bytes the call moved in total */
	__u32 offset;               /* 96: offset of this record's payload within the message */
	__u16 payload_len;          /* 100: payload bytes that follow */
	__u8 direction;             /* 102: enum llmslo_direction */
	__u8 source;                /* 103: enum llmslo_source */
	__u8 flags;                 /* 104: enum llmslo_data_flags */
	__u8 syscall;               /* 105: enum llmslo_syscall */
	__u16 _pad0;                /* 106 */
	__u32 _pad1;                /* 108 */
	__u8 payload[];             /* 112 */
};

/* 104 bytes. */
struct llmslo_conn_event {
	struct llmslo_hdr hdr;      /* 0 */
	__u64 conn_id;              /* 32 */
	struct llmslo_tuple tuple;  /* 40 */
	__u8 old_state;             /* 80: TCP_* from include/net/tcp_states.h */
	__u8 new_state;             /* 81 */
	__u16 protocol;             /* 82: IPPROTO_TCP */
	__u32 srtt_us;              /* 84: last smoothed RTT from tcp:tcp_probe (0 = none seen) */
	__u64 duration_ns;          /* 88: SYN_SENT->ESTABLISHED: connect latency; ->CLOSE: lifetime */
	__u32 retransmits;          /* 96: retransmitted segments seen on this connection so far */
	__u32 rtt_samples;          /* 100 */
};

/* 88 bytes: retransmit and reset share it. */
struct llmslo_tcp_event {
	struct llmslo_hdr hdr;      /* 0 */
	__u64 conn_id;              /* 32: 0 when the socket was never seen before */
	struct llmslo_tuple tuple;  /* 40 */
	__u8 state;                 /* 80: TCP state at the time */
	__u8 reset_dir;             /* 81: enum llmslo_reset_dir (resets only) */
	__u16 _pad0;                /* 82 */
	__u32 _pad1;                /* 84 */
};

/* 320 bytes. */
struct llmslo_exec_event {
	struct llmslo_hdr hdr;                 /* 0 */
	__u32 ppid;                            /* 32 */
	__u32 _pad0;                           /* 36 */
	char comm[LLMSLO_COMM_LEN];            /* 40 */
	char filename[LLMSLO_PATH_LEN];        /* 56 */
	__u64 _pad1;                           /* 312 */
};

/* 64 bytes. */
struct llmslo_exit_event {
	struct llmslo_hdr hdr;                 /* 0 */
	__s32 exit_code;                       /* 32: task->exit_code (status << 8 | signal) */
	__u32 _pad0;                           /* 36 */
	char comm[LLMSLO_COMM_LEN];            /* 40 */
	__u64 _pad1;                           /* 56 */
};

/* 96 bytes. */
struct llmslo_tls_bind_event {
	struct llmslo_hdr hdr;                 /* 0 */
	__u64 ssl_ptr;                         /* 32 */
	__u64 conn_id;                         /* 40 */
	struct llmslo_tuple tuple;             /* 48 */
	__s32 fd;                              /* 88 */
	__u8 source;                           /* 92: enum llmslo_source */
	__u8 method;                           /* 93: 1 nested syscall, 2 last read on thread, 3 next write */
	__u16 _pad0;                           /* 94 */
};

/* Counters the kernel keeps per CPU (array map "stats"); user space sums them. */
enum llmslo_stat {
	LLMSLO_STAT_RINGBUF_DROPS = 0,   /* bpf_ringbuf_output failed: consumer too slow */
	LLMSLO_STAT_READ_FAULTS,         /* bpf_probe_read_user failed */
	LLMSLO_STAT_PAYLOAD_TRUNCATED,   /* messages cut at the payload cap */
	LLMSLO_STAT_NON_HTTP_BYTES,      /* bytes on sockets that ship counters only */
	LLMSLO_STAT_NON_HTTP_CALLS,
	LLMSLO_STAT_TLS_UNBOUND,         /* TLS records emitted before their SSL* was bound */
	LLMSLO_STAT_CONN_MAP_FULL,       /* (LRU evictions are silent; this counts insert failures) */
	LLMSLO_STAT_SSL_HITS,            /* uprobe entries (all SSL_* functions) */
	LLMSLO_STAT_SSL_RET_HITS,        /* uretprobe hits */
	LLMSLO_STAT_SOCK_CALLS,          /* syscalls on inet sockets seen */
	LLMSLO_STAT_DATA_EVENTS,         /* data records emitted */
	LLMSLO_STAT_SCRATCH_BUSY,        /* messages dropped: per-CPU builder in use (preemption) */
	LLMSLO_STAT_MUTED_CALLS,         /* messages not shipped: their connection was muted */
	LLMSLO_STAT_MUTED_BYTES,
	LLMSLO_STAT_MAX,
};

/* Load-time knobs (const volatile in the object, set from user space before load). */
struct llmslo_config {
	__u32 agent_tgid;      /* never trace this process */
	__u32 payload_cap;     /* max payload bytes per message (>= LLMSLO_CHUNK_BYTES, <= 64 chunks) */
	__u32 capture_all;     /* ship payloads for every TCP connection, not only HTTP-looking ones */
	__u32 _pad0;
};

#endif /* LLMSLO_EVENTS_H */
