// Probe-floor micro-benchmark: in ONE run, times a write() loop and a function-call loop with
// nothing attached, with an empty syscall-tracepoint pair, with an empty uprobe and with an
// empty uprobe+uretprobe, and prints the added cost per call. Every later overhead figure is
// reported against these numbers.
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

__attribute__((noinline)) int floor_target(int x) {
  __asm__ volatile("" ::: "memory");
  return x + 1;
}

static double time_writes(int fd, long n) {
  char c = 'x';
  double t0 = now_ns();
  for (long i = 0; i < n; i++)
    if (write(fd, &c, 1) != 1) abort();
  return (now_ns() - t0) / n;
}

static double time_calls(long n) {
  volatile int acc = 0;
  double t0 = now_ns();
  for (long i = 0; i < n; i++) acc = floor_target(acc);
  return (now_ns() - t0) / n;
}


int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--writes-only") == 0) {
    /* The syscall tax on unrelated I/O: ns per write() to /dev/null, best of 5. */
    int fd = open("/dev/null", O_WRONLY);
    long n = atol(argv[2]);
    double best = 1e18;
    time_writes(fd, n / 10);
    for (int r = 0; r < 5; r++) {
      double v = time_writes(fd, n);
      if (v < best) best = v;
    }
    printf("{\"write_ns\":%.1f}\n", best);
    return 0;
  }
  if (argc < 3) {
    fprintf(stderr, "usage: floor OBJ TARGET_OFFSET [N_WRITES N_CALLS ROUNDS]\n");
    return 2;
  }
  const char *obj_path = argv[1];
  long target_off = strtol(argv[2], NULL, 0);
  long nw = argc > 3 ? atol(argv[3]) : 200000;
  long nc = argc > 4 ? atol(argv[4]) : 20000;
  int rounds = argc > 5 ? atoi(argv[5]) : 3;
  int fd = open("/dev/null", O_WRONLY);
  struct bpf_object *obj = bpf_object__open_file(obj_path, NULL);
  if (!obj || bpf_object__load(obj)) {
    fprintf(stderr, "floor: cannot load %s\n", obj_path);
    return 1;
  }
  struct bpf_program *pe = bpf_object__find_program_by_name(obj, "floor_enter_write");
  struct bpf_program *px = bpf_object__find_program_by_name(obj, "floor_exit_write");
  struct bpf_program *pu = bpf_object__find_program_by_name(obj, "floor_uprobe");
  struct bpf_program *pr = bpf_object__find_program_by_name(obj, "floor_uretprobe");
  double base_w = 1e18, tp_w = 1e18, base_c = 1e18, up_c = 1e18, upret_c = 1e18;
  time_writes(fd, nw / 10);
  /* Best of `rounds` for each configuration: the floor is the cost without scheduler noise. */
  for (int r = 0; r < rounds; r++) {
    double v;
    if ((v = time_writes(fd, nw)) < base_w) base_w = v;
    struct bpf_link *le = bpf_program__attach(pe), *lx = bpf_program__attach(px);
    if (!le || !lx) { fprintf(stderr, "floor: tracepoint attach failed\n"); return 1; }
    if ((v = time_writes(fd, nw)) < tp_w) tp_w = v;
    bpf_link__destroy(le);
    bpf_link__destroy(lx);

    if ((v = time_calls(nc * 10)) < base_c) base_c = v;
    LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = false);
    struct bpf_link *lu = bpf_program__attach_uprobe_opts(pu, getpid(), "/proc/self/exe", target_off, &uo);
    if (!lu) { fprintf(stderr, "floor: uprobe attach failed\n"); return 1; }
    if ((v = time_calls(nc)) < up_c) up_c = v;
    LIBBPF_OPTS(bpf_uprobe_opts, ro, .retprobe = true);
    struct bpf_link *lr = bpf_program__attach_uprobe_opts(pr, getpid(), "/proc/self/exe", target_off, &ro);
    if (!lr) { fprintf(stderr, "floor: uretprobe attach failed\n"); return 1; }
    if ((v = time_calls(nc)) < upret_c) upret_c = v;
    bpf_link__destroy(lr);
    bpf_link__destroy(lu);
  }
  printf("{\"write_ns\":%.1f,\"write_with_tracepoint_pair_ns\":%.1f,\"tracepoint_pair_added_ns\":%.1f,"
         "\"call_ns\":%.1f,\"call_with_uprobe_ns\":%.1f,\"uprobe_hit_ns\":%.1f,"
         "\"call_with_uprobe_uretprobe_ns\":%.1f,\"uretprobe_hit_ns\":%.1f}\n",
         base_w, tp_w, tp_w - base_w, base_c, up_c, up_c - base_c, upret_c, upret_c - up_c);
  return 0;
}
