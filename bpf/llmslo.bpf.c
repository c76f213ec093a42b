// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * llmslo kernel capture plane.
 *
 * Works on tracepoints and uprobes only (no kprobes, no fentry: the target kernels lack them).
 *   - syscalls:sys_{enter,exit}_{read,write,readv,writev,sendto,recvfrom,sendmsg,recvmsg,
 *     sendmmsg,recvmmsg}: payloads of HTTP-looking TCP connections (and DNS on UDP);
 *   - uprobes on SSL_write/SSL_write_ex (entry only) and SSL_read/SSL_read_ex (entry + return):
 *     TLS plaintext, bound to the socket connection;
 *   - sock:inet_sock_set_state, tcp:tcp_retransmit_skb, tcp:tcp_{send,receive}_reset, tcp:tcp_probe:
 *     TCP lifecycle, loss and RTT (RTT aggregated in the connection map, not one event per packet);
 *   - sched:sched_process_{exec,exit}: process cache and new uprobe targets.
 *
 * Layouts of everything that crosses to user space live in llmslo_events.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "llmslo_events.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define MSG_PEEK 2
#define EAGAIN 11
#define NSEC_PER_MSEC 1000000ULL
/* A socket read and the SSL_read that decrypts it come ~0.1 ms apart on Node; allow slack. */
#define TLS_BIND_WINDOW_NS (20 * NSEC_PER_MSEC)

/* Set by user space before load (llmslo_config in llmslo_events.h). */
const volatile __u32 cfg_agent_tgid = 0;
const volatile __u32 cfg_payload_cap = LLMSLO_CHUNK_BYTES * 4;
const volatile __u32 cfg_capture_all = 0;
/* Wake the consumer only once this much is waiting; below it the loader's periodic drain
 * collects records. One wake-up per record cost the agent ~15 us per record in JS callbacks. */
const volatile __u32 cfg_wakeup_bytes = 256 * 1024;
/* 1 when user space may fill skip_cgroups: without exclusions the lookup is compiled away. */
const volatile __u32 cfg_skip_cgroups = 0;

/* ---------------------------------------------------------------- maps */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024); /* resized by user space before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LLMSLO_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Extra ports whose connections always ship payloads (user-configured). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u16);
	__type(value, __u8);
} capture_ports SEC(".maps");

/* Cgroup v2 ids whose tasks are not captured (capture.exclude_cgroups), kept by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LLMSLO_MAX_SKIP_CGROUPS);
	__type(key, __u64);
	__type(value, __u8);
} skip_cgroups SEC(".maps");

enum conn_proto {
	PROTO_UNKNOWN = 0,
	PROTO_HTTP = 1,  /* HTTP/1.x seen: ship payloads */
	PROTO_TLS = 2,   /* TLS records: plaintext comes from uprobes; ship only the ClientHello */
	PROTO_OTHER = 3, /* something else: counters only, re-sniffed on every message */
	PROTO_DNS = 4,
};

struct conn_state {
	__u64 id;
	__u64 created_ns;
	__u64 connect_start_ns; /* SYN_SENT time, for connect latency */
	__u64 cgroup_id;
	__u64 ssl_ptr;          /* SSL* bound to this connection (TLS), for cleanup at close */
	__u32 owner_tgid;       /* 0 until a task touches it (passive opens happen in softirq) */
	__u32 srtt_us;
	__u32 rtt_samples;
	__u32 retransmits;
	__u8 proto;             /* enum conn_proto */
	__u8 is_udp;
	__u8 tls_bound;
	__u8 client_hello_sent;
	__u8 closed;            /* TCP reached CLOSE: kept as a tombstone for reads of queued data */
	__u8 plain_seen;        /* TLS plaintext was emitted for it (the handshake succeeded) */
	__u8 _pad[2];
	__u64 ino;              /* socket inode: tells a reused struct sock address from the old one */
};

/* Keyed by struct sock *. LRU: a lost close never leaks an entry forever. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct conn_state);
} conns SEC(".maps");

/* Arguments of an in-flight socket syscall, keyed by pid_tgid (enter -> exit). */
struct io_args {
	__u64 sk;
	__u64 buf;     /* buffer, iovec array, msghdr or mmsghdr array, by syscall */
	__u64 ino;     /* socket inode */
	__u64 addr;    /* sendto's destination / recvfrom's source sockaddr (unconnected UDP), or 0 */
	__u32 count;   /* byte count, iovcnt or vlen */
	__s32 fd;
	__u8 sys;      /* enum llmslo_syscall */
	__u8 is_udp;
	__u8 _pad[6];
};

/* A plain hash (an LRU update costs more, on every socket syscall): on_exit deletes the entry
 * of a thread that dies inside a syscall, so nothing leaks. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct io_args);
} active_io SEC(".maps");

/* Arguments of an in-flight SSL_* call, keyed by pid_tgid (entry -> nested syscall / return). */
struct ssl_args {
	__u64 ssl;
	__u64 buf;
	__u64 len_ptr;  /* SSL_read_ex: size_t *readbytes */
	__u64 num;      /* requested bytes (SSL_write: bytes to write) */
	__u64 ts;
	__u8 sys;       /* enum llmslo_syscall */
	__u8 source;    /* enum llmslo_source */
	__u8 _pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct ssl_args);
} active_ssl SEC(".maps");

struct ssl_key {
	__u32 tgid;
	__u32 _pad;
	__u64 ssl;
};

struct ssl_binding {
	__u64 sk;
	__u64 conn_id;
	__s32 fd;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ssl_key);
	__type(value, struct ssl_binding);
} ssl_conns SEC(".maps");

/* Node's TLS runs over memory BIOs, so no syscall nests inside SSL_*; instead we remember the
 * last TLS socket read on each thread (Node decrypts right after reading, on the same thread)
 * and the last unbound SSL* that will produce a write. */
struct thread_sock {
	__u64 sk;
	__u64 ts;
	__s32 fd;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct thread_sock);
} last_tls_read SEC(".maps");

struct pending_bind {
	__u64 ssl;
	__u64 ts;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct pending_bind);
} pending_write_bind SEC(".maps");

/* Connection ids (conn_state.id) whose payloads are not shipped (value: enum llmslo_mute), kept
 * by user space, which removes an id when its connection closes. LRU: an id whose close was
 * missed ages out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LLMSLO_MAX_MUTED_CONNS);
	__type(key, __u64);
	__type(value, __u8);
} muted_conns SEC(".maps");

/* Per-CPU scratch: an event is built here, then copied to the ring with its exact size. The
 * 512-byte BPF stack cannot hold a 4 KiB payload. */
struct data_scratch {
	/* Record builder state: bytes of the message already shipped (offset of payload[0]) and
	 * bytes waiting in payload[]. Several iovecs share one record until it holds a full chunk. */
	__u32 rec_off;
	__u32 fill;
	/* Set while a message is being built. Uprobe programs run with migration disabled but may
	 * be preempted on PREEMPT kernels, and a syscall program on the same CPU would then reuse
	 * this slot mid-message: the newcomer drops its record (counted) instead. */
	__u32 busy;
	__u32 _pad;
	struct llmslo_data_event ev; /* its flexible payload[] aliases the array below (GNU C) */
	/* Twice the chunk: with fill < CHUNK and a copy of at most CHUNK - fill bytes, the
	 * verifier can prove payload + fill + n stays inside the value without knowing the sum. */
	__u8 payload[LLMSLO_CHUNK_BYTES * 2];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct data_scratch);
} scratch SEC(".maps");

/* Connection ids: a global counter (atomic add, once per connection). Ids stay below 2^53 so
 * user space can hold them in a JS number. */
__u64 next_conn_id = 0;

/* Set (once, never cleared) by user space through the mmapped .bss when it first mutes a
 * connection: until then no data path pays for the muted_conns lookup. */
__u32 muting_active = 0;

/* ---------------------------------------------------------------- helpers */

static __always_inline void stat_add(__u32 idx, __u64 v)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &idx);
	if (c)
		*c += v; /* per-CPU slot: no atomics needed */
}

static __always_inline __u64 rb_flags(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= cfg_wakeup_bytes ? BPF_RB_FORCE_WAKEUP
										    : BPF_RB_NO_WAKEUP;
}

static __always_inline bool is_agent(__u32 tgid)
{
	return cfg_agent_tgid != 0 && tgid == cfg_agent_tgid;
}

/* The current task is not captured: the agent itself, or a task in an excluded cgroup. */
static __always_inline bool skip_current(__u32 tgid)
{
	if (is_agent(tgid))
		return true;
	if (!cfg_skip_cgroups) /* read-only config: the branch below is dead code without exclusions */
		return false;
	__u64 cg = bpf_get_current_cgroup_id();
	return bpf_map_lookup_elem(&skip_cgroups, &cg) != NULL;
}

/* The same for a connection, by the task that owns it (passive opens: unknown until first I/O). */
static __always_inline bool skip_owner(const struct conn_state *c)
{
	if (is_agent(c->owner_tgid))
		return true;
	if (!cfg_skip_cgroups || c->cgroup_id == 0)
		return false;
	__u64 cg = c->cgroup_id; /* a stack copy for the key */
	return bpf_map_lookup_elem(&skip_cgroups, &cg) != NULL;
}

/* The cgroup v2 id a socket belongs to: the cgroup of the task that created it, which an
 * accepted socket inherits from its listener. Known in softirq, where a passive open has no task
 * yet: an excluded server's inbound connections are skipped from their first event. 0 when the
 * kernel has no such field (CO-RE) or no cgroup. */
static __always_inline __u64 sock_cgroup_id(struct sock *sk)
{
	if (!bpf_core_field_exists(sk->sk_cgrp_data.cgroup))
		return 0;
	struct cgroup *cg = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	if (!cg)
		return 0;
	return BPF_CORE_READ(cg, kn, id);
}

/* User space asked for no more payloads of this connection: returns its enum llmslo_mute (0:
 * not muted) and counts the payload that is not shipped. */
static __always_inline __u8 conn_muted(const struct conn_state *c, __u32 bytes)
{
	if (!muting_active)
		return 0;
	__u64 id = c->id; /* a stack copy for the key */
	__u8 *mode = bpf_map_lookup_elem(&muted_conns, &id);
	if (!mode)
		return 0;
	stat_add(LLMSLO_STAT_MUTED_CALLS, 1);
	stat_add(LLMSLO_STAT_MUTED_BYTES, bytes);
	return *mode == LLMSLO_MUTE_SIZES ? LLMSLO_MUTE_SIZES : LLMSLO_MUTE_DROP;
}

static __always_inline void fill_hdr(struct llmslo_hdr *h, __u16 type, __u32 size, __u64 ts)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	h->type = type;
	h->version = LLMSLO_EVENTS_VERSION;
	h->size = size;
	h->ts_ns = ts;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->cgroup_id = bpf_get_current_cgroup_id();
}

/* Softirq-context variant: the current task is unrelated, so use the connection's owner. */
static __always_inline void fill_hdr_owner(struct llmslo_hdr *h, __u16 type, __u32 size, __u64 ts,
					   struct conn_state *c)
{
	h->type = type;
	h->version = LLMSLO_EVENTS_VERSION;
	h->size = size;
	h->ts_ns = ts;
	h->pid = c ? c->owner_tgid : 0;
	h->tid = 0;
	h->cgroup_id = c ? c->cgroup_id : 0;
}

static __always_inline void fill_tuple(struct sock *sk, struct llmslo_tuple *t)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	t->family = family;
	t->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&t->laddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&t->raddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		BPF_CORE_READ_INTO((__u32 *)&t->laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)&t->raddr, sk, __sk_common.skc_daddr);
	}
}

/*
 * fd -> struct sock * for AF_INET/AF_INET6 TCP or UDP sockets, by walking
 * task->files->fdt->fd[fd] with CO-RE reads (no kprobe on sock_sendmsg needed).
 */
static __always_inline struct sock *fd_to_inet_sock(int fd, __u8 *is_udp, __u64 *ino)
{
	if (fd < 0)
		return NULL;
	/* Every read/write on the node passes here, so the walk uses direct loads through the BTF
	 * task pointer (JITed as guarded loads) rather than one bpf_probe_read_kernel call per
	 * pointer: the difference is paid by every process's I/O. CO-RE relocates the offsets. */
	struct task_struct *task = bpf_get_current_task_btf();
	struct files_struct *files = task->files;
	if (!files)
		return NULL;
	struct fdtable *fdt = files->fdt;
	if (!fdt || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	struct file *file = NULL;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fdt->fd[fd]) || !file)
		return NULL;
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	if (!inode || (BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	*ino = BPF_CORE_READ(inode, i_ino);
	struct socket *sock = BPF_CORE_READ(file, private_data);
	if (!sock)
		return NULL;
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return NULL;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return NULL;
	__u16 type = BPF_CORE_READ(sk, sk_type);
	__u16 proto = BPF_CORE_READ(sk, sk_protocol);
	if (type == SOCK_STREAM && proto == IPPROTO_TCP) {
		*is_udp = 0;
		return sk;
	}
	if (type == SOCK_DGRAM && proto == IPPROTO_UDP) {
		*is_udp = 1;
		return sk;
	}
	return NULL;
}

/* The connection state of `sk`. `ino` is the socket's inode when known (0 from softirq): an
 * entry with another inode belongs to an earlier socket at the same address, so it is replaced;
 * so is a closed one when the caller knows the socket is new (connect, passive open). */
static __always_inline struct conn_state *get_or_create_conn(struct sock *sk, __u8 is_udp,
							     __u32 tgid, __u64 now, __u64 ino, bool fresh_socket)
{
	__u64 key = (__u64)sk;
	struct conn_state *c = bpf_map_lookup_elem(&conns, &key);
	if (c && ((ino && c->ino && c->ino != ino) || (c->closed && fresh_socket)))
		c = NULL; /* address reuse: start over with a new id */
	if (c) {
		if (!c->ino)
			c->ino = ino;
		if (c->owner_tgid == 0 && tgid) {
			c->owner_tgid = tgid;
			c->cgroup_id = bpf_get_current_cgroup_id();
		}
		return c;
	}
	struct conn_state fresh = {};
	fresh.id = __sync_fetch_and_add(&next_conn_id, 1) + 1;
	fresh.created_ns = now;
	fresh.owner_tgid = tgid;
	fresh.cgroup_id = tgid ? bpf_get_current_cgroup_id() : 0;
	fresh.is_udp = is_udp;
	fresh.ino = ino;
	if (bpf_map_update_elem(&conns, &key, &fresh, BPF_ANY)) {
		stat_add(LLMSLO_STAT_CONN_MAP_FULL, 1);
		return NULL;
	}
	return bpf_map_lookup_elem(&conns, &key);
}

static __always_inline bool is_http_start(const __u8 *b)
{
	/* Requests: the methods LLM and vector-DB clients use; responses: "HTTP/1." */
	switch (b[0]) {
	case 'G': return b[1] == 'E' && b[2] == 'T' && b[3] == ' ';
	case 'P': return (b[1] == 'O' && b[2] == 'S' && b[3] == 'T' && b[4] == ' ') ||
			 (b[1] == 'U' && b[2] == 'T' && b[3] == ' ') ||
			 (b[1] == 'A' && b[2] == 'T' && b[3] == 'C' && b[4] == 'H' && b[5] == ' ');
	case 'D': return b[1] == 'E' && b[2] == 'L' && b[3] == 'E' && b[4] == 'T' && b[5] == 'E';
	case 'H': return (b[1] == 'E' && b[2] == 'A' && b[3] == 'D' && b[4] == ' ') ||
			 (b[1] == 'T' && b[2] == 'T' && b[3] == 'P' && b[4] == '/' && b[5] == '1');
	case 'O': return b[1] == 'P' && b[2] == 'T' && b[3] == 'I' && b[4] == 'O' && b[5] == 'N';
	case 'C': return b[1] == 'O' && b[2] == 'N' && b[3] == 'N' && b[4] == 'E' && b[5] == 'C' && b[6] == 'T';
	}
	return false;
}

/* TLS record header: content type 20..23, major version 3. */
static __always_inline bool is_tls_record(const __u8 *b)
{
	return b[0] >= 20 && b[0] <= 23 && b[1] == 3 && b[2] <= 4;
}

/* A handshake record carrying a ClientHello (record type 22, handshake type 1). */
static __always_inline bool is_client_hello(const __u8 *b)
{
	return b[0] == 22 && b[1] == 3 && b[2] <= 4 && b[5] == 1;
}

/*
 * Appends [src, src+len) of the current message to the per-CPU record builder, shipping a
 * record each time it holds LLMSLO_CHUNK_BYTES, never past cfg_payload_cap. flush_data() ships
 * the rest. The builder (fill, rec_off) lives in the scratch map value, so it carries across the
 * iovecs of one call: a writev of 4 small iovecs becomes one record, not four.
 *
 * Verifier trick: the copy loop runs under bpf_loop() so its body is verified once, with
 * unknown offsets; a plain bounded loop was verified per iteration and, with the cap a known
 * constant, tracked every offset precisely until it hit the 1M-instruction limit.
 */
struct span_ctx {
	__u64 src;
	__u32 len;
	__u8 stop;  /* cap reached or read fault: the caller stops too */
	__u8 _pad[3];
};

static __always_inline void ship_record(struct data_scratch *s)
{
	__u32 n = s->fill;
	/* Verifier: an explicit bound on the record length before the variable-size output. */
	if (n > LLMSLO_CHUNK_BYTES)
		n = LLMSLO_CHUNK_BYTES;
	s->ev.offset = s->rec_off;
	s->ev.payload_len = n;
	s->ev.hdr.size = sizeof(struct llmslo_data_event) + n;
	if (bpf_ringbuf_output(&events, &s->ev, sizeof(struct llmslo_data_event) + n, rb_flags()))
		stat_add(LLMSLO_STAT_RINGBUF_DROPS, 1);
	else
		stat_add(LLMSLO_STAT_DATA_EVENTS, 1);
	s->rec_off += n;
	s->fill = 0;
}

static long span_chunk(__u32 i, struct span_ctx *sc)
{
	if (sc->len == 0)
		return 1;
	__u32 zero = 0;
	struct data_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 1;
	__u32 fill = s->fill & (LLMSLO_CHUNK_BYTES - 1); /* always < CHUNK; the mask proves it */
	__u32 at = s->rec_off + fill;                    /* message offset of the next byte */
	if (at >= cfg_payload_cap) {
		s->ev.flags |= LLMSLO_DF_TRUNCATED;
		sc->stop = 1;
		return 1;
	}
	__u32 n = sc->len;
	if (n > cfg_payload_cap - at)
		n = cfg_payload_cap - at;
	if (n > LLMSLO_CHUNK_BYTES - fill)
		n = LLMSLO_CHUNK_BYTES - fill;
	/* Verifier trick: clamp in inline asm so clang cannot fold it into the comparisons above;
	 * the verifier then knows n <= LLMSLO_CHUNK_BYTES at the probe read. */
	__u64 n64 = n;
	asm volatile("if %[n] <= %[max] goto +1\n\t"
		     "%[n] = %[max]\n\t"
		     : [n] "+r"(n64)
		     : [max] "i"(LLMSLO_CHUNK_BYTES));
	n = n64;
	if (bpf_probe_read_user(s->payload + fill, n, (const void *)sc->src)) {
		s->ev.flags |= LLMSLO_DF_READ_FAULT;
		stat_add(LLMSLO_STAT_READ_FAULTS, 1);
		sc->stop = 1;
		return 1;
	}
	s->fill = fill + n;
	sc->src += n;
	sc->len -= n;
	if (s->fill >= LLMSLO_CHUNK_BYTES)
		ship_record(s);
	return 0;
}

/* Appends to the current message; false once it stopped (cap reached or fault). */
static __always_inline bool emit_span(const void *src, __u32 len)
{
	struct span_ctx sc = { .src = (__u64)src, .len = len };
	bpf_loop(LLMSLO_MAX_CHUNKS, span_chunk, &sc, 0);
	return !sc.stop && sc.len == 0;
}

/* Ships what the builder holds. A message that ends truncated ships its flag on the last
 * record (an empty one if need be), so user space knows nothing more is coming. */
static __always_inline void flush_data(bool truncated)
{
	__u32 zero = 0;
	struct data_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return;
	if (truncated) {
		s->ev.flags |= LLMSLO_DF_TRUNCATED;
		stat_add(LLMSLO_STAT_PAYLOAD_TRUNCATED, 1);
	}
	if (s->fill || (s->ev.flags & (LLMSLO_DF_TRUNCATED | LLMSLO_DF_READ_FAULT)) || s->rec_off == 0)
		ship_record(s);
	s->busy = 0; /* every message ends here */
}

/* Fill the data event template in the per-CPU scratch slot. */
static __always_inline struct data_scratch *data_template(__u64 ts, struct sock *sk, struct conn_state *c,
							  __s32 fd, __u32 msg_len, __u8 dir, __u8 source,
							  __u8 sys, __u64 ssl)
{
	__u32 zero = 0;
	struct data_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return NULL;
	if (s->busy) {
		stat_add(LLMSLO_STAT_SCRATCH_BUSY, 1);
		return NULL;
	}
	s->busy = 1;
	fill_hdr(&s->ev.hdr, LLMSLO_EV_DATA, sizeof(struct llmslo_data_event), ts);
	s->ev.conn_id = c ? c->id : 0;
	s->ev.ssl_ptr = ssl;
	if (sk) {
		fill_tuple(sk, &s->ev.tuple);
	} else {
		__builtin_memset(&s->ev.tuple, 0, sizeof(s->ev.tuple));
	}
	s->ev.fd = fd;
	s->ev.msg_len = msg_len;
	s->ev.offset = 0;
	s->ev.payload_len = 0;
	s->ev.direction = dir;
	s->ev.source = source;
	s->ev.flags = (c && c->is_udp) ? LLMSLO_DF_UDP : 0;
	s->ev.syscall = sys;
	s->ev._pad0 = 0;
	s->ev._pad1 = 0;
	s->rec_off = 0;
	s->fill = 0;
	return s;
}

static __always_inline void emit_tls_bind(__u64 ssl, struct sock *sk, struct conn_state *c, __s32 fd,
					  __u8 source, __u8 method)
{
	struct llmslo_tls_bind_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_add(LLMSLO_STAT_RINGBUF_DROPS, 1);
		return;
	}
	fill_hdr(&e->hdr, LLMSLO_EV_TLS_BIND, sizeof(*e), bpf_ktime_get_ns());
	e->ssl_ptr = ssl;
	e->conn_id = c->id;
	fill_tuple(sk, &e->tuple);
	e->fd = fd;
	e->source = source;
	e->method = method;
	e->_pad0 = 0;
	bpf_ringbuf_submit(e, rb_flags());
}

/* Bind (tgid, ssl) -> connection; emits a TLS_BIND event when the binding is new or changed. */
static __always_inline void bind_ssl(__u32 tgid, __u64 ssl, struct sock *sk, struct conn_state *c, __s32 fd,
				     __u8 source, __u8 method)
{
	/* TLS runs over TCP; a plaintext HTTP or DNS socket touched on the same thread (stale or
	 * memory-BIO SSL state) must never be taken for this SSL*'s transport. */
	if (c->is_udp || c->proto == PROTO_HTTP || c->proto == PROTO_DNS)
		return;
	struct ssl_key k = { .tgid = tgid, .ssl = ssl };
	struct ssl_binding *b = bpf_map_lookup_elem(&ssl_conns, &k);
	if (b && b->conn_id == c->id)
		return;
	struct ssl_binding nb = { .sk = (__u64)sk, .conn_id = c->id, .fd = fd };
	bpf_map_update_elem(&ssl_conns, &k, &nb, BPF_ANY);
	c->tls_bound = 1;
	c->ssl_ptr = ssl;
	c->proto = PROTO_TLS;
	emit_tls_bind(ssl, sk, c, fd, source, method);
}

/* Emit TLS plaintext [buf, buf+len) for ssl, bound or not. */
static __always_inline void emit_tls_data(void *ctx, __u64 ts, __u32 tgid, __u64 ssl, __u64 buf, __u32 len,
					  __u8 dir, __u8 source, __u8 sys)
{
	struct ssl_key k = { .tgid = tgid, .ssl = ssl };
	struct ssl_binding *b = bpf_map_lookup_elem(&ssl_conns, &k);
	struct sock *sk = NULL;
	struct conn_state *c = NULL;
	__s32 fd = -1;
	if (b) {
		__u64 skey = b->sk;
		sk = (struct sock *)b->sk;
		fd = b->fd;
		c = bpf_map_lookup_elem(&conns, &skey);
		/* The socket address may belong to another connection now; and a closed connection
		 * only takes reads (data queued before the close), never new writes: a write on an
		 * SSL* bound to a closed connection means the SSL* address was reused. */
		if (c && (c->id != b->conn_id || (c->closed && dir == LLMSLO_DIR_EGRESS)))
			c = NULL;
		__u8 mute = c ? conn_muted(c, len) : 0;
		if (mute == LLMSLO_MUTE_DROP)
			return;
		if (c)
			c->plain_seen = 1;
		if (mute == LLMSLO_MUTE_SIZES) {
			struct data_scratch *s = data_template(ts, sk, c, fd, len, dir, source, sys, ssl);
			if (!s)
				return;
			s->ev.flags |= LLMSLO_DF_SIZES_ONLY;
			flush_data(false); /* the payload-less record */
			return;
		}
	}
	struct data_scratch *s = data_template(ts, c ? sk : NULL, c, fd, len, dir, source, sys, ssl);
	if (!s)
		return;
	if (!c) {
		s->ev.flags |= LLMSLO_DF_UNBOUND;
		stat_add(LLMSLO_STAT_TLS_UNBOUND, 1);
	}
	flush_data(!emit_span((const void *)buf, len));
}

/* ---------------------------------------------------------------- syscalls */

static __always_inline int enter_io(__s32 fd, __u64 buf, __u32 count, __u8 sys, __u64 flags, __u64 addr)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (skip_current(pid_tgid >> 32))
		return 0;
	if (flags & MSG_PEEK) /* peeked bytes are read again later: never count them twice */
		return 0;
	__u8 is_udp = 0;
	__u64 ino = 0;
	struct sock *sk = fd_to_inet_sock(fd, &is_udp, &ino);
	if (!sk)
		return 0;
	struct io_args a = { .sk = (__u64)sk, .buf = buf, .ino = ino, .addr = is_udp ? addr : 0, .count = count, .fd = fd, .sys = sys, .is_udp = is_udp };
	bpf_map_update_elem(&active_io, &pid_tgid, &a, BPF_ANY);
	return 0;
}

/* The peer of one message on an unconnected UDP socket, from its sockaddr (user memory). */
struct peer_addr {
	__u8 addr[16]; /* network order; IPv4 in the first 4 bytes, as in llmslo_tuple */
	__u16 port;    /* host order; 0 = unknown */
	__u16 _pad[3];
};

static __always_inline bool read_peer(__u64 uaddr, struct peer_addr *p)
{
	struct { __u16 family; __u16 port_be; __u32 v4; } head = {};
	if (bpf_probe_read_user(&head, sizeof(head), (const void *)uaddr))
		return false;
	if (head.family == AF_INET) {
		__builtin_memcpy(p->addr, &head.v4, 4);
	} else if (head.family == AF_INET6) {
		/* sockaddr_in6: family, port, flowinfo (4), then the address */
		if (bpf_probe_read_user(p->addr, 16, (const void *)(uaddr + 8)))
			return false;
	} else {
		return false;
	}
	p->port = bpf_ntohs(head.port_be);
	return p->port != 0;
}

/* Reads the first bytes of the message for protocol sniffing, whatever the buffer kind. */
static __always_inline int first_bytes(struct io_args *a, __u8 *out, __u32 n, __u64 *first_ptr, __u32 *first_len)
{
	__u64 ptr = a->buf;
	__u32 len = a->count;
	if (a->sys == LLMSLO_SYS_READV || a->sys == LLMSLO_SYS_WRITEV || a->sys == LLMSLO_SYS_SENDMSG ||
	    a->sys == LLMSLO_SYS_RECVMSG || a->sys == LLMSLO_SYS_SENDMMSG || a->sys == LLMSLO_SYS_RECVMMSG) {
		struct iovec iov = {};
		__u64 iov_ptr = a->buf;
		if (a->sys == LLMSLO_SYS_SENDMSG || a->sys == LLMSLO_SYS_RECVMSG ||
		    a->sys == LLMSLO_SYS_SENDMMSG || a->sys == LLMSLO_SYS_RECVMMSG) {
			struct user_msghdr mh = {};
			if (bpf_probe_read_user(&mh, sizeof(mh), (void *)a->buf))
				return -1;
			iov_ptr = (__u64)mh.msg_iov;
		}
		if (bpf_probe_read_user(&iov, sizeof(iov), (void *)iov_ptr))
			return -1;
		ptr = (__u64)iov.iov_base;
		len = iov.iov_len;
	}
	*first_ptr = ptr;
	*first_len = len;
	if (len < n)
		return -1;
	return bpf_probe_read_user(out, n, (void *)ptr);
}

static __always_inline bool port_configured(struct sock *sk)
{
	__u16 lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	__u16 rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return bpf_map_lookup_elem(&capture_ports, &lport) || bpf_map_lookup_elem(&capture_ports, &rport);
}

/*
 * A message that is a TLS alert on its own: a plaintext alert record (type 21: TLS 1.2, or before
 * encryption), or, from the client, one encrypted TLS 1.3 record of 19 bytes (2 alert bytes, the
 * inner type, a 16-byte tag: no Finished or data record is that small), possibly after a
 * middlebox-compatibility ChangeCipherSpec. Only small messages are read.
 */
static __always_inline bool is_tls_alert(struct io_args *a, __u32 total, bool egress)
{
	if (total > 64 || total < 7) /* a plaintext alert record is 7 bytes */
		return false;
	/* Only buffer and iovec syscalls (what OpenSSL's socket BIO and Node use): a small stack. */
	__u64 ptr = a->buf;
	if (a->sys == LLMSLO_SYS_READV || a->sys == LLMSLO_SYS_WRITEV) {
		if (bpf_probe_read_user(&ptr, sizeof(ptr), (const void *)a->buf)) /* iov[0].iov_base */
			return false;
	} else if (a->sys != LLMSLO_SYS_READ && a->sys != LLMSLO_SYS_WRITE && a->sys != LLMSLO_SYS_SENDTO &&
		   a->sys != LLMSLO_SYS_RECVFROM) {
		return false;
	}
	__u8 h[11] = {};
	if (bpf_probe_read_user(h, total >= 11 ? 11 : 7, (const void *)ptr) || h[1] != 3)
		return false;
	if (h[0] == 21)
		return true;
	if (!egress)
		return false;
	if (h[0] == 20 && total == 30) /* ChangeCipherSpec (6 bytes), then the record */
		return h[6] == 23 && h[9] == 0 && h[10] == 19;
	return total == 24 && h[0] == 23 && h[3] == 0 && h[4] == 19;
}

/* Walk an iovec array (bpf_loop, see span_chunk) and append up to `total` bytes. */
struct iov_ctx {
	__u64 iov_ptr;
	__u32 iovcnt;
	__u32 left;
	__u8 stop;
	__u8 _pad[7];
};

static long iov_step(__u32 i, struct iov_ctx *ic)
{
	if (i >= ic->iovcnt || ic->left == 0)
		return 1;
	struct iovec iov = {};
	if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(ic->iov_ptr + (__u64)i * sizeof(struct iovec)))) {
		ic->stop = 1;
		return 1;
	}
	__u32 n = iov.iov_len < ic->left ? iov.iov_len : ic->left;
	if (!emit_span(iov.iov_base, n)) {
		ic->stop = 1;
		return 1;
	}
	ic->left -= n;
	return 0;
}

static __always_inline void emit_iov(__u64 iov_ptr, __u32 iovcnt, __u32 total)
{
	struct iov_ctx ic = { .iov_ptr = iov_ptr, .iovcnt = iovcnt, .left = total };
	bpf_loop(LLMSLO_MAX_IOV, iov_step, &ic, 0);
	/* Bytes left over (more iovecs than we walk, cap, fault) end the message truncated. */
	flush_data(ic.left != 0);
}

/* Node: bind an unbound SSL* waiting for its first ciphertext write to this TLS connection. */
static __always_inline void node_write_follow_bind(__u64 pid_tgid, struct sock *sk, struct conn_state *c,
						   __s32 fd, __u64 now)
{
	struct pending_bind *pb = bpf_map_lookup_elem(&pending_write_bind, &pid_tgid);
	if (!pb)
		return;
	if (!c->tls_bound && now - pb->ts < TLS_BIND_WINDOW_NS)
		bind_ssl(pid_tgid >> 32, pb->ssl, sk, c, fd, LLMSLO_SRC_NODE, 3);
	bpf_map_delete_elem(&pending_write_bind, &pid_tgid);
}

static __always_inline int exit_io(void *ctx, long ret, __u8 sys)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct io_args *ap = bpf_map_lookup_elem(&active_io, &pid_tgid);
	if (!ap)
		return 0;
	struct io_args a = *ap;
	bpf_map_delete_elem(&active_io, &pid_tgid);
	/* An entry left by another syscall (a thread interrupted at attach time) is not ours. */
	if (ret <= 0 || a.sys != sys)
		return 0;

	__u64 now = bpf_ktime_get_ns();
	__u32 tgid = pid_tgid >> 32;
	struct sock *sk = (struct sock *)a.sk;
	bool egress = a.sys == LLMSLO_SYS_WRITE || a.sys == LLMSLO_SYS_WRITEV || a.sys == LLMSLO_SYS_SENDTO ||
		      a.sys == LLMSLO_SYS_SENDMSG || a.sys == LLMSLO_SYS_SENDMMSG;
	/* A write after the TCP close (e.g. a TLS close_notify) belongs to no connection any more;
	 * reads after it (data queued before a reset) still do, and keep the old id (tombstone). */
	if (egress && !a.is_udp && BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_CLOSE)
		return 0;
	struct conn_state *c = get_or_create_conn(sk, a.is_udp, tgid, now, a.ino, false);
	if (!c)
		return 0;
	stat_add(LLMSLO_STAT_SOCK_CALLS, 1);
	__u32 total = (__u32)ret;
	/* recv(MSG_TRUNC) returns the datagram's real length, which can exceed the buffer: never
	 * read past what the application's buffer holds. */
	if ((a.sys == LLMSLO_SYS_READ || a.sys == LLMSLO_SYS_RECVFROM) && total > a.count)
		total = a.count;
	__u32 iovcnt = a.count;
	__u64 vec = a.buf;
	if (a.sys == LLMSLO_SYS_SENDMMSG || a.sys == LLMSLO_SYS_RECVMMSG) {
		/* ret is a message count: take the first message's length and iovec. */
		struct mmsghdr mm = {};
		if (bpf_probe_read_user(&mm, sizeof(mm), (void *)a.buf))
			return 0;
		total = mm.msg_len;
		vec = (__u64)mm.msg_hdr.msg_iov;
		iovcnt = mm.msg_hdr.msg_iovlen;
	} else if (a.sys == LLMSLO_SYS_SENDMSG || a.sys == LLMSLO_SYS_RECVMSG) {
		struct user_msghdr mh = {};
		if (bpf_probe_read_user(&mh, sizeof(mh), (void *)a.buf))
			return 0;
		vec = (__u64)mh.msg_iov;
		iovcnt = mh.msg_iovlen;
	}

	/* Protocol sniffing: decided on the first message, re-tried on every message of
	 * connections that did not look like anything yet (agent started mid-connection). An
	 * egress ClientHello turns any TCP connection into TLS, even one that spoke HTTP first
	 * (HTTPS through a CONNECT proxy tunnel). */
	bool ship = false;
	bool hello = false;
	struct peer_addr peer = {};
	bool first_message = c->proto == PROTO_UNKNOWN;
	if (c->proto != PROTO_TLS && (egress || c->proto != PROTO_HTTP)) {
		__u8 head[8] = {};
		__u64 fptr = 0;
		__u32 flen = 0;
		if (first_bytes(&a, head, sizeof(head), &fptr, &flen) == 0) {
			if (!c->is_udp && egress && is_client_hello(head)) {
				c->proto = PROTO_TLS;
				c->client_hello_sent = 0;
				hello = true;
			} else if (c->proto == PROTO_HTTP) {
				/* stays HTTP */
			} else if (is_http_start(head)) {
				c->proto = PROTO_HTTP;
			} else if (!c->is_udp && (first_message || egress) && is_tls_record(head)) {
				c->proto = PROTO_TLS;
			} else {
				c->proto = PROTO_OTHER;
			}
		} else if (c->proto == PROTO_UNKNOWN) {
			c->proto = PROTO_OTHER;
		}
	}

	/* TLS through a shared libssl: this syscall nests inside SSL_read/SSL_write on the same
	 * thread, which binds the SSL* to this socket for certain (the plaintext itself is emitted
	 * by the return probes, once the call says how many bytes it took or gave). */
	struct ssl_args *sa = bpf_map_lookup_elem(&active_ssl, &pid_tgid);
	if (sa && sa->source == LLMSLO_SRC_LIBSSL)
		bind_ssl(tgid, sa->ssl, sk, c, a.fd, LLMSLO_SRC_LIBSSL, 1);

	if (c->proto == PROTO_HTTP || (cfg_capture_all && c->proto != PROTO_TLS))
		ship = true;
	else if (c->proto == PROTO_TLS) {
		/* Ship the ClientHello once: user space reads the SNI from it. Never ciphertext. */
		if (hello && !c->client_hello_sent) {
			c->client_hello_sent = 1;
			ship = true;
		} else if (c->client_hello_sent && !c->plain_seen && is_tls_alert(&a, total, egress)) {
			/* an alert before any plaintext: user space decides whether the handshake failed */
			ship = true;
		}
		if (egress) {
			node_write_follow_bind(pid_tgid, sk, c, a.fd, now);
		} else {
			struct thread_sock ts = { .sk = (__u64)sk, .ts = now, .fd = a.fd };
			bpf_map_update_elem(&last_tls_read, &pid_tgid, &ts, BPF_ANY);
		}
	} else if (c->is_udp) {
		__u16 rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		__u16 lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		/* An unconnected socket (musl's resolver) names its peer per message. */
		if (rport == 0 && a.addr && read_peer(a.addr, &peer))
			rport = peer.port;
		if (rport == 53 || lport == 53) {
			c->proto = PROTO_DNS;
			ship = true;
		}
	}
	if (!ship && c->proto != PROTO_TLS && port_configured(sk))
		ship = true;
	if (!ship) {
		stat_add(LLMSLO_STAT_NON_HTTP_CALLS, 1);
		stat_add(LLMSLO_STAT_NON_HTTP_BYTES, total);
		return 0;
	}
	__u8 mute = conn_muted(c, total);
	if (mute == LLMSLO_MUTE_DROP)
		return 0;

	struct data_scratch *s = data_template(now, sk, c, a.fd, total,
					       egress ? LLMSLO_DIR_EGRESS : LLMSLO_DIR_INGRESS,
					       LLMSLO_SRC_SOCKET, a.sys, 0);
	if (!s)
		return 0;
	if (mute == LLMSLO_MUTE_SIZES) {
		s->ev.flags |= LLMSLO_DF_SIZES_ONLY;
		flush_data(false); /* the payload-less record */
		return 0;
	}
	if (peer.port) {
		/* the socket has no peer of its own: the message's sockaddr is it */
		s->ev.tuple.rport = peer.port;
		__builtin_memcpy(s->ev.tuple.raddr, peer.addr, sizeof(peer.addr));
	}
	if (a.sys == LLMSLO_SYS_READ || a.sys == LLMSLO_SYS_WRITE || a.sys == LLMSLO_SYS_SENDTO ||
	    a.sys == LLMSLO_SYS_RECVFROM) {
		flush_data(!emit_span((const void *)a.buf, total));
	} else {
		emit_iov(vec, iovcnt, total);
	}
	return 0;
}

/* One enter/exit tracepoint pair per syscall. COUNT, FLAGS and ADDR are expressions over
 * ctx->args: the byte count / iovec count / vlen argument, the flags argument (for MSG_PEEK), and
 * the sockaddr argument of sendto/recvfrom (the peer of an unconnected UDP socket). */
#define SYSCALL_PAIR(name, SYS, COUNT, FLAGS, ADDR)                                                   \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                             \
	int sys_enter_##name(struct trace_event_raw_sys_enter *ctx)                             \
	{                                                                                       \
		return enter_io(ctx->args[0], ctx->args[1], COUNT, SYS, FLAGS, ADDR);           \
	}                                                                                       \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                              \
	int sys_exit_##name(struct trace_event_raw_sys_exit *ctx) { return exit_io(ctx, ctx->ret, SYS); }

SYSCALL_PAIR(read, LLMSLO_SYS_READ, ctx->args[2], 0, 0)
SYSCALL_PAIR(write, LLMSLO_SYS_WRITE, ctx->args[2], 0, 0)
SYSCALL_PAIR(readv, LLMSLO_SYS_READV, ctx->args[2], 0, 0)
SYSCALL_PAIR(writev, LLMSLO_SYS_WRITEV, ctx->args[2], 0, 0)
SYSCALL_PAIR(sendto, LLMSLO_SYS_SENDTO, ctx->args[2], 0, ctx->args[4])
SYSCALL_PAIR(recvfrom, LLMSLO_SYS_RECVFROM, ctx->args[2], ctx->args[3], ctx->args[4])
SYSCALL_PAIR(sendmsg, LLMSLO_SYS_SENDMSG, 0, 0, 0)
SYSCALL_PAIR(recvmsg, LLMSLO_SYS_RECVMSG, 0, ctx->args[2], 0)
SYSCALL_PAIR(sendmmsg, LLMSLO_SYS_SENDMMSG, ctx->args[2], 0, 0)
SYSCALL_PAIR(recvmmsg, LLMSLO_SYS_RECVMMSG, ctx->args[2], ctx->args[3], 0)

/* ---------------------------------------------------------------- TLS uprobes */

/* The attach cookie says which kind of target this is (enum llmslo_source). */
static __always_inline int ssl_entry(struct pt_regs *ctx, __u8 sys, __u64 len_ptr)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	if (skip_current(tgid))
		return 0;
	stat_add(LLMSLO_STAT_SSL_HITS, 1);
	__u8 source = (__u8)bpf_get_attach_cookie(ctx);
	__u64 now = bpf_ktime_get_ns();
	struct ssl_args a = {
		.ssl = PT_REGS_PARM1(ctx),
		.buf = PT_REGS_PARM2(ctx),
		.num = PT_REGS_PARM3(ctx),
		.len_ptr = len_ptr,
		.ts = now,
		.sys = sys,
		.source = source,
	};
	bool is_write = sys == LLMSLO_SYS_SSL_WRITE || sys == LLMSLO_SYS_SSL_WRITE_EX;
	if (sys == LLMSLO_SYS_SSL_WRITE) /* int num: ignore the upper half of the register */
		a.num = (__u32)a.num;

	if (source == LLMSLO_SRC_NODE) {
		struct ssl_key k = { .tgid = tgid, .ssl = a.ssl };
		struct ssl_binding *b = bpf_map_lookup_elem(&ssl_conns, &k);
		bool bound = false;
		if (b) {
			/* A binding counts only while its connection is open: freed SSL* addresses are
			 * reused by new connections, often right after the old one closed. */
			__u64 bsk = b->sk;
			struct conn_state *bc = bpf_map_lookup_elem(&conns, &bsk);
			bound = bc && bc->id == b->conn_id && !bc->closed;
		}
		if (!is_write) {
			/* Node decrypts right after reading the ciphertext on this thread. This also
			 * re-binds: a freed SSL*'s address is soon reused for a new connection (often
			 * before the old socket reaches CLOSE), and the new, still unbound socket read
			 * just before this SSL_read is the stronger evidence. */
			struct thread_sock *lr = bpf_map_lookup_elem(&last_tls_read, &pid_tgid);
			if (lr && now - lr->ts < TLS_BIND_WINDOW_NS) {
				__u64 skey = lr->sk;
				struct conn_state *c = bpf_map_lookup_elem(&conns, &skey);
				if (c && !c->tls_bound && !c->closed && (!bound || b->sk != skey)) {
					bind_ssl(tgid, a.ssl, (struct sock *)lr->sk, c, lr->fd, LLMSLO_SRC_NODE, 2);
					bound = true;
				}
				bpf_map_delete_elem(&last_tls_read, &pid_tgid);
			}
		}
		if (!bound) {
			/* Otherwise the next TLS write on this thread (ClientHello or data) tells. */
			struct pending_bind pb = { .ssl = a.ssl, .ts = now };
			bpf_map_update_elem(&pending_write_bind, &pid_tgid, &pb, BPF_ANY);
		}
	}
	bpf_map_update_elem(&active_ssl, &pid_tgid, &a, BPF_ANY);
	return 0;
}

/*
 * Return of SSL_read/SSL_write and their _ex forms: the call's result says how many bytes moved
 * (SSL_*: the int return value; _ex: 1 = success, count in *readbytes / *written). Reads are
 * stamped with the return time (bytes available to the caller), writes with the entry time
 * (bytes handed to the TLS layer).
 */
static __always_inline int handle_ssl_return(struct pt_regs *ctx, bool write, bool ex)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ssl_args *ap = bpf_map_lookup_elem(&active_ssl, &pid_tgid);
	if (!ap)
		return 0;
	stat_add(LLMSLO_STAT_SSL_RET_HITS, 1);
	struct ssl_args a = *ap;
	bpf_map_delete_elem(&active_ssl, &pid_tgid);
	bool is_write = a.sys == LLMSLO_SYS_SSL_WRITE || a.sys == LLMSLO_SYS_SSL_WRITE_EX;
	if (is_write != write)
		return 0;
	int rc = (int)PT_REGS_RC(ctx); /* int, not long: -1 must stay negative */
	__u64 n = 0;
	if (ex) {
		if (rc != 1 || !a.len_ptr || bpf_probe_read_user(&n, sizeof(n), (void *)a.len_ptr))
			return 0;
	} else {
		if (rc <= 0)
			return 0;
		n = rc;
	}
	emit_tls_data(ctx, write ? a.ts : bpf_ktime_get_ns(), pid_tgid >> 32, a.ssl, a.buf, (__u32)n,
		      write ? LLMSLO_DIR_EGRESS : LLMSLO_DIR_INGRESS, a.source, a.sys);
	return 0;
}

SEC("uprobe")
int ssl_write_entry(struct pt_regs *ctx) { return ssl_entry(ctx, LLMSLO_SYS_SSL_WRITE, 0); }

SEC("uprobe")
int ssl_write_ex_entry(struct pt_regs *ctx) { return ssl_entry(ctx, LLMSLO_SYS_SSL_WRITE_EX, PT_REGS_PARM4(ctx)); }

SEC("uretprobe")
int ssl_write_return(struct pt_regs *ctx) { return handle_ssl_return(ctx, true, false); }

SEC("uretprobe")
int ssl_write_ex_return(struct pt_regs *ctx) { return handle_ssl_return(ctx, true, true); }

SEC("uprobe")
int ssl_read_entry(struct pt_regs *ctx) { return ssl_entry(ctx, LLMSLO_SYS_SSL_READ, 0); }

SEC("uprobe")
int ssl_read_ex_entry(struct pt_regs *ctx) { return ssl_entry(ctx, LLMSLO_SYS_SSL_READ_EX, PT_REGS_PARM4(ctx)); }

SEC("uretprobe")
int ssl_read_return(struct pt_regs *ctx) { return handle_ssl_return(ctx, false, false); }

SEC("uretprobe")
int ssl_read_ex_return(struct pt_regs *ctx) { return handle_ssl_return(ctx, false, true); }

/* ---------------------------------------------------------------- TCP lifecycle */

static __always_inline void emit_conn(struct trace_event_raw_inet_sock_set_state *ctx, struct sock *sk,
				      struct conn_state *c, __u64 now, __u64 duration, bool process_ctx)
{
	struct llmslo_conn_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_add(LLMSLO_STAT_RINGBUF_DROPS, 1);
		return;
	}
	if (process_ctx)
		fill_hdr(&e->hdr, LLMSLO_EV_CONN, sizeof(*e), now);
	else
		fill_hdr_owner(&e->hdr, LLMSLO_EV_CONN, sizeof(*e), now, c);
	e->conn_id = c->id;
	/* From the tracepoint's own fields: at CLOSE the socket's port is already cleared. */
	__builtin_memset(&e->tuple, 0, sizeof(e->tuple));
	e->tuple.family = ctx->family;
	e->tuple.lport = ctx->sport;
	e->tuple.rport = ctx->dport;
	/* Verifier: ctx fields cannot be copied through a derived ctx pointer; probe-read them. */
	if (ctx->family == AF_INET6) {
		bpf_probe_read_kernel(e->tuple.laddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(e->tuple.raddr, 16, ctx->daddr_v6);
	} else {
		bpf_probe_read_kernel(e->tuple.laddr, 4, ctx->saddr);
		bpf_probe_read_kernel(e->tuple.raddr, 4, ctx->daddr);
	}
	e->old_state = ctx->oldstate;
	e->new_state = ctx->newstate;
	e->protocol = ctx->protocol;
	e->srtt_us = c->srtt_us;
	e->duration_ns = duration;
	e->retransmits = c->retransmits;
	e->rtt_samples = c->rtt_samples;
	bpf_ringbuf_submit(e, rb_flags());
}

SEC("tracepoint/sock/inet_sock_set_state")
int on_inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	struct sock *sk = (struct sock *)ctx->skaddr;
	__u64 key = (__u64)sk;
	int old = ctx->oldstate, new = ctx->newstate;
	__u64 now = bpf_ktime_get_ns();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (new == TCP_SYN_SENT) {
		/* connect(): runs in the connecting task. */
		if (skip_current(tgid))
			return 0;
		struct conn_state *c = get_or_create_conn(sk, 0, tgid, now, 0, true);
		if (!c)
			return 0;
		c->connect_start_ns = now;
		emit_conn(ctx, sk, c, now, 0, true);
		return 0;
	}
	struct conn_state *c = bpf_map_lookup_elem(&conns, &key);
	if (old == TCP_SYN_RECV && new == TCP_ESTABLISHED && (!c || c->closed)) {
		/* Passive open, in softirq: the owner is learned at the first read/write, its cgroup
		 * (for exclusions) from the socket now, replaced by the task's at that first I/O. */
		c = get_or_create_conn(sk, 0, 0, now, 0, true);
		if (c && cfg_skip_cgroups && !c->owner_tgid)
			c->cgroup_id = sock_cgroup_id(sk);
	}
	/* A closed entry is a tombstone (kept for reads after a reset): CLOSE ends a socket's life, so
	 * a state change on it is a new socket at the same address — a listen(), or an accepted
	 * child still in SYN_RECV — which is not this connection (its owner would be wrong). */
	if (!c || c->closed || skip_owner(c))
		return 0;
	__u64 duration = 0;
	if (old == TCP_SYN_SENT && (new == TCP_ESTABLISHED || new == TCP_CLOSE))
		duration = c->connect_start_ns ? now - c->connect_start_ns : 0;
	else if (new == TCP_CLOSE)
		duration = now - c->created_ns;
	emit_conn(ctx, sk, c, now, duration, false);
	/* Not deleted at CLOSE: data queued before a reset is still read afterwards and must keep
	 * this id. The tombstone stays until LRU eviction or until a new socket (another inode)
	 * takes the address; the SSL* binding is checked against the id before use. */
	if (new == TCP_CLOSE)
		c->closed = 1;
	return 0;
}

SEC("tracepoint/tcp/tcp_probe")
int on_tcp_probe(struct trace_event_raw_tcp_probe *ctx)
{
	/* Per received segment: only a map update, never an event. */
	__u64 key = (__u64)ctx->skaddr;
	struct conn_state *c = bpf_map_lookup_elem(&conns, &key);
	if (!c)
		return 0;
	c->srtt_us = ctx->srtt;
	c->rtt_samples++;
	return 0;
}

static __always_inline void emit_tcp(__u16 type, struct sock *sk, __u8 state, __u8 reset_dir)
{
	__u64 key = (__u64)sk;
	struct conn_state *c = sk ? bpf_map_lookup_elem(&conns, &key) : NULL;
	if (c && skip_owner(c))
		return;
	if (c && type == LLMSLO_EV_RETRANSMIT)
		c->retransmits++;
	struct llmslo_tcp_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_add(LLMSLO_STAT_RINGBUF_DROPS, 1);
		return;
	}
	fill_hdr_owner(&e->hdr, type, sizeof(*e), bpf_ktime_get_ns(), c);
	e->conn_id = c ? c->id : 0;
	if (sk)
		fill_tuple(sk, &e->tuple);
	else
		__builtin_memset(&e->tuple, 0, sizeof(e->tuple));
	e->state = state;
	e->reset_dir = reset_dir;
	e->_pad0 = 0;
	e->_pad1 = 0;
	bpf_ringbuf_submit(e, rb_flags());
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int on_tcp_retransmit(struct trace_event_raw_tcp_retransmit_skb *ctx)
{
	emit_tcp(LLMSLO_EV_RETRANSMIT, (struct sock *)ctx->skaddr, ctx->state, 0);
	return 0;
}

SEC("tracepoint/tcp/tcp_send_reset")
int on_tcp_send_reset(struct trace_event_raw_tcp_send_reset *ctx)
{
	struct sock *sk = (struct sock *)ctx->skaddr;
	if (!sk) /* RST for a segment with no socket (e.g. closed port): nothing to attribute */
		return 0;
	emit_tcp(LLMSLO_EV_RESET, sk, ctx->state, LLMSLO_RESET_SENT);
	return 0;
}

SEC("tracepoint/tcp/tcp_receive_reset")
int on_tcp_receive_reset(struct trace_event_raw_tcp_event_sk *ctx)
{
	struct sock *sk = (struct sock *)ctx->skaddr;
	emit_tcp(LLMSLO_EV_RESET, sk, BPF_CORE_READ(sk, __sk_common.skc_state), LLMSLO_RESET_RECEIVED);
	return 0;
}

/* ---------------------------------------------------------------- processes */

SEC("tracepoint/sched/sched_process_exec")
int on_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct llmslo_exec_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_add(LLMSLO_STAT_RINGBUF_DROPS, 1);
		return 0;
	}
	fill_hdr(&e->hdr, LLMSLO_EV_EXEC, sizeof(*e), bpf_ktime_get_ns());
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->_pad0 = 0;
	e->_pad1 = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	unsigned int loc = ctx->__data_loc_filename & 0xFFFF; /* __data_loc: low 16 bits = offset */
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + loc);
	bpf_ringbuf_submit(e, rb_flags());
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int on_exit(struct trace_event_raw_sched_process_template *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	/* Every exiting thread: drop its in-flight state (a thread that dies inside SSL_read never
	 * reaches the return probe), so a later thread with the same id cannot inherit it. */
	bpf_map_delete_elem(&active_io, &pid_tgid);
	bpf_map_delete_elem(&active_ssl, &pid_tgid);
	bpf_map_delete_elem(&last_tls_read, &pid_tgid);
	bpf_map_delete_elem(&pending_write_bind, &pid_tgid);
	if ((__u32)pid_tgid != (pid_tgid >> 32)) /* threads exiting: only the process matters */
		return 0;
	struct llmslo_exit_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_add(LLMSLO_STAT_RINGBUF_DROPS, 1);
		return 0;
	}
	fill_hdr(&e->hdr, LLMSLO_EV_EXIT, sizeof(*e), bpf_ktime_get_ns());
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	e->exit_code = BPF_CORE_READ(task, exit_code);
	e->_pad0 = 0;
	e->_pad1 = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, rb_flags());
	return 0;
}
