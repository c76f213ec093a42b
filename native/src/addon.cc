// llmslo native loader: loads the CO-RE object (embedded through a libbpf skeleton), attaches
// programs on request, and consumes the ring buffer on the Node event loop.
//
// Why an addon and not a separate loader process: events cross into JS once per batch, as one
// Buffer, with no extra copy through a pipe and no second process to supervise. The API is small
// and message-shaped (open/attach/start/stats/close), so a loader process could replace it.
//
// Consumption: the kernel wakes us (uv_poll on the ring buffer map fd; the kernel's ringbuf poll
// is level-triggered, and so is libuv) only once `wakeupBytes` are waiting; a periodic timer
// drain collects everything below that, which also covers the known libbpf missed-wakeup race. Each wake-up drains at most kBatchBudgetBytes so a hot producer cannot
// hold the JS thread; the level-triggered poll brings us back on the next loop turn.
#include <napi.h>
#include <uv.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "llmslo_events.h"
#include "llmslo.skel.h"

namespace {

constexpr size_t kBatchBudgetBytes = 8 * 1024 * 1024;
constexpr int kBudgetStop = -10000;  // callback return value that ends one drain early

std::string g_libbpf_log;  // last libbpf messages, for one-line errors with detail on demand

int LibbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[1024];
  int n = vsnprintf(buf, sizeof(buf), fmt, args);
  if (n > 0) {
    g_libbpf_log.append(buf, std::min<size_t>(n, sizeof(buf) - 1));
    if (g_libbpf_log.size() > 64 * 1024) g_libbpf_log.erase(0, g_libbpf_log.size() - 32 * 1024);
  }
  return 0;
}

std::string Errno(int err) {
  if (err < 0) err = -err;
  return std::string(strerror(err));
}

class Loader : public Napi::ObjectWrap<Loader> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "Loader", {
      InstanceMethod("open", &Loader::Open),
      InstanceMethod("programs", &Loader::Programs),
      InstanceMethod("attach", &Loader::Attach),
      InstanceMethod("attachUprobe", &Loader::AttachUprobe),
      InstanceMethod("detachLink", &Loader::DetachLink),
      InstanceMethod("setCapturePorts", &Loader::SetCapturePorts),
      InstanceMethod("setSkippedCgroups", &Loader::SetSkippedCgroups),
      InstanceMethod("muteConnection", &Loader::MuteConnection),
      InstanceMethod("unmuteConnection", &Loader::UnmuteConnection),
      InstanceMethod("start", &Loader::Start),
      InstanceMethod("drain", &Loader::Drain),
      InstanceMethod("stats", &Loader::Stats),
      InstanceMethod("programStats", &Loader::ProgramStats),
      InstanceMethod("enableRunTimeStats", &Loader::EnableRunTimeStats),
      InstanceMethod("close", &Loader::Close),
    });
    exports.Set("Loader", ctor);
    exports.Set("eventsVersion", Napi::Number::New(env, LLMSLO_EVENTS_VERSION));
    exports.Set("libbpfVersion", Napi::String::New(env, std::to_string(libbpf_major_version()) + "." +
                                                           std::to_string(libbpf_minor_version())));
    // A fixed mmap threshold: glibc otherwise raises it (up to 32 MiB) after the first large
    // free, and from then on every batch buffer (up to kBatchBudgetBytes, freed when V8 collects
    // it) comes from the brk heap, which fragments and stays resident: ~9 MB of peak RSS in the
    // agent overhead bench. Above the threshold, blocks are mapped and unmapped on free.
    exports.Set("setMallocMmapThreshold", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
      int bytes = info[0].As<Napi::Number>().Int32Value();
      return Napi::Boolean::New(info.Env(), mallopt(M_MMAP_THRESHOLD, bytes) == 1);
    }));
    exports.Set("takeLibbpfLog", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
      std::string s;
      s.swap(g_libbpf_log);
      return Napi::String::New(info.Env(), s);
    }));
    return exports;
  }

  explicit Loader(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Loader>(info) {}
  ~Loader() override { Teardown(); }

 private:
  struct llmslo* skel_ = nullptr;
  struct ring_buffer* rb_ = nullptr;
  std::map<int, struct bpf_link*> links_;
  int next_link_id_ = 1;
  int stats_fd_ = -1;

  uv_poll_t* poll_ = nullptr;
  uv_timer_t* timer_ = nullptr;
  Napi::FunctionReference on_batch_;
  std::unique_ptr<Napi::AsyncContext> async_ctx_;
  bool draining_ = false;

  std::vector<uint8_t> batch_;
  size_t batch_budget_ = kBatchBudgetBytes;

  // Loader-side counters.
  uint64_t records_ = 0, bytes_ = 0, batches_ = 0, wakeups_ = 0, timer_drains_ = 0, budget_stops_ = 0;
  uint64_t callback_errors_ = 0;
  std::string last_callback_error_;

  static int OnRecord(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Loader*>(ctx);
    // Records are copied out now: the ring reuses their space once the consumer moves on.
    const size_t aligned = (size + 7) & ~size_t(7);
    const size_t at = self->batch_.size();
    self->batch_.resize(at + aligned);
    memcpy(self->batch_.data() + at, data, size);
    if (aligned != size) memset(self->batch_.data() + at + size, 0, aligned - size);
    self->records_++;
    self->bytes_ += size;
    if (self->batch_.size() >= self->batch_budget_) return kBudgetStop;
    return 0;
  }

  void Teardown() {
    if (poll_) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (timer_) {
      uv_timer_stop(timer_);
      uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
      timer_ = nullptr;
    }
    for (auto& kv : links_) bpf_link__destroy(kv.second);
    links_.clear();
    if (rb_) {
      ring_buffer__free(rb_);
      rb_ = nullptr;
    }
    if (skel_) {
      llmslo__destroy(skel_);
      skel_ = nullptr;
    }
    if (stats_fd_ >= 0) {
      close(stats_fd_);
      stats_fd_ = -1;
    }
    if (!on_batch_.IsEmpty()) on_batch_.Reset();
    async_ctx_.reset();
  }

  void RequireOpen(Napi::Env env) {
    if (!skel_) throw Napi::Error::New(env, "loader is not open");
  }

  // open({agentTgid, payloadCap, captureAll, ringBytes})
  Napi::Value Open(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (skel_) throw Napi::Error::New(env, "loader already open");
    Napi::Object o = info.Length() > 0 && info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(env);
    auto num = [&](const char* k, uint32_t def) -> uint32_t {
      return o.Has(k) && o.Get(k).IsNumber() ? o.Get(k).As<Napi::Number>().Uint32Value() : def;
    };
    libbpf_set_print(LibbpfPrint);
    skel_ = llmslo__open();
    if (!skel_) throw Napi::Error::New(env, "cannot open BPF object: " + Errno(errno));
    skel_->rodata->cfg_agent_tgid = num("agentTgid", getpid());
    skel_->rodata->cfg_payload_cap = num("payloadCap", LLMSLO_CHUNK_BYTES * 4);
    skel_->rodata->cfg_capture_all = num("captureAll", 0);
    skel_->rodata->cfg_wakeup_bytes = num("wakeupBytes", 256 * 1024);
    skel_->rodata->cfg_skip_cgroups = num("skipCgroups", 0);
    uint32_t ring = num("ringBytes", 16 * 1024 * 1024);
    int err = bpf_map__set_max_entries(skel_->maps.events, ring);
    if (err) {
      Teardown();
      throw Napi::Error::New(env, "ring buffer size " + std::to_string(ring) + " rejected: " + Errno(err));
    }
    // The verifier gives up with EAGAIN when a signal is pending, and libbpf retries only a few
    // times: a profiler's SIGPROF (or any timer signal) can make loading fail. Block signals on
    // this thread for the duration of the load; they are delivered right after.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    err = llmslo__load(skel_);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (err) {
      Teardown();
      throw Napi::Error::New(env, "cannot load BPF programs (" + Errno(err) + ")");
    }
    // Loading parsed the kernel's BTF (tens of MB of small allocations) for CO-RE relocations
    // and libbpf has freed it; hand those pages back to the kernel instead of keeping them in
    // the agent's resident set for its whole life.
    malloc_trim(0);
    return env.Undefined();
  }

  // programs(): names of all programs in the object, with their section.
  Napi::Value Programs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    Napi::Array arr = Napi::Array::New(env);
    struct bpf_program* p;
    uint32_t i = 0;
    bpf_object__for_each_program(p, skel_->obj) {
      Napi::Object e = Napi::Object::New(env);
      e.Set("name", bpf_program__name(p));
      e.Set("section", bpf_program__section_name(p));
      arr.Set(i++, e);
    }
    return arr;
  }

  struct bpf_program* FindProgram(Napi::Env env, const std::string& name) {
    struct bpf_program* p = bpf_object__find_program_by_name(skel_->obj, name.c_str());
    if (!p) throw Napi::Error::New(env, "no BPF program named " + name);
    return p;
  }

  int Remember(struct bpf_link* l) {
    int id = next_link_id_++;
    links_[id] = l;
    return id;
  }

  // attach(name) -> link id; attaches a tracepoint program by its section.
  Napi::Value Attach(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    std::string name = info[0].As<Napi::String>();
    struct bpf_program* p = FindProgram(env, name);
    struct bpf_link* l = bpf_program__attach(p);
    if (!l) {
      int err = errno;
      throw Napi::Error::New(env, "attach " + name + ": " + Errno(err));
    }
    return Napi::Number::New(env, Remember(l));
  }

  // attachUprobe(program, binaryPath, funcName, retprobe, cookie) -> link id
  Napi::Value AttachUprobe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    std::string prog = info[0].As<Napi::String>();
    std::string path = info[1].As<Napi::String>();
    // The function is given either by name (libbpf resolves it) or as a file offset that the
    // caller resolved from the ELF symbol table (src/capture/elf.ts).
    bool by_offset = info[2].IsNumber();
    std::string func = by_offset ? std::to_string(info[2].As<Napi::Number>().Int64Value()) : info[2].As<Napi::String>().Utf8Value();
    size_t offset = by_offset ? static_cast<size_t>(info[2].As<Napi::Number>().Int64Value()) : 0;
    bool ret = info[3].As<Napi::Boolean>();
    uint64_t cookie = info[4].As<Napi::Number>().Int64Value();
    struct bpf_program* p = FindProgram(env, prog);
    LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = cookie, .retprobe = ret,
                .func_name = by_offset ? nullptr : func.c_str());
    struct bpf_link* l = bpf_program__attach_uprobe_opts(p, -1, path.c_str(), offset, &opts);
    if (!l) {
      int err = errno;
      throw Napi::Error::New(env, "uprobe " + func + " in " + path + ": " + Errno(err));
    }
    return Napi::Number::New(env, Remember(l));
  }

  Napi::Value DetachLink(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int id = info[0].As<Napi::Number>().Int32Value();
    auto it = links_.find(id);
    if (it == links_.end()) return Napi::Boolean::New(env, false);
    bpf_link__destroy(it->second);
    links_.erase(it);
    return Napi::Boolean::New(env, true);
  }

  Napi::Value SetCapturePorts(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    Napi::Array ports = info[0].As<Napi::Array>();
    int fd = bpf_map__fd(skel_->maps.capture_ports);
    uint8_t one = 1;
    for (uint32_t i = 0; i < ports.Length(); i++) {
      uint16_t port = static_cast<uint16_t>(ports.Get(i).As<Napi::Number>().Uint32Value());
      if (bpf_map_update_elem(fd, &port, &one, BPF_ANY))
        throw Napi::Error::New(env, "capture port " + std::to_string(port) + ": " + Errno(errno));
    }
    return env.Undefined();
  }

  // setSkippedCgroups(ids): the cgroup v2 ids whose tasks are not captured, replacing the set
  // (needs open({ skipCgroups: 1 })). Ids are kernfs inode numbers: exact as doubles.
  Napi::Value SetSkippedCgroups(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    if (!skel_->rodata->cfg_skip_cgroups) throw Napi::Error::New(env, "cgroup exclusion was not enabled at open");
    Napi::Array arr = info[0].As<Napi::Array>();
    if (arr.Length() > LLMSLO_MAX_SKIP_CGROUPS)
      throw Napi::Error::New(env, std::to_string(arr.Length()) + " cgroups to exclude, at most " +
                                      std::to_string(LLMSLO_MAX_SKIP_CGROUPS));
    std::set<uint64_t> want;
    for (uint32_t i = 0; i < arr.Length(); i++)
      want.insert(static_cast<uint64_t>(arr.Get(i).As<Napi::Number>().Int64Value()));
    int fd = bpf_map__fd(skel_->maps.skip_cgroups);
    // Keys to drop are collected first: deleting during the walk would restart it.
    std::vector<uint64_t> stale;
    uint64_t key = 0, next = 0;
    uint64_t* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
      if (!want.count(next)) stale.push_back(next);
      key = next;
      prev = &key;
    }
    for (uint64_t k : stale) bpf_map_delete_elem(fd, &k);
    uint8_t one = 1;
    for (uint64_t id : want) {
      if (bpf_map_update_elem(fd, &id, &one, BPF_ANY))
        throw Napi::Error::New(env, "exclude cgroup " + std::to_string(id) + ": " + Errno(errno));
    }
    return Napi::Number::New(env, static_cast<double>(want.size()));
  }

  // muteConnection(connId, sizesOnly): no more payload records for this connection (its TCP
  // events still come); with sizesOnly, one payload-less record per message still says its size.
  // False when the kernel refused (the LRU map evicts, so only on a real error).
  Napi::Value MuteConnection(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    uint64_t id = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
    uint8_t mode = info.Length() > 1 && info[1].ToBoolean().Value() ? LLMSLO_MUTE_SIZES : LLMSLO_MUTE_DROP;
    if (bpf_map_update_elem(bpf_map__fd(skel_->maps.muted_conns), &id, &mode, BPF_ANY)) return Napi::Boolean::New(env, false);
    // Written through the mmapped .bss: the programs skip the map lookup until this is set.
    if (!skel_->bss->muting_active) __atomic_store_n(&skel_->bss->muting_active, 1, __ATOMIC_RELEASE);
    return Napi::Boolean::New(env, true);
  }

  // unmuteConnection(connId): forget a muted connection (it closed). False when it was not muted.
  Napi::Value UnmuteConnection(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    uint64_t id = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
    return Napi::Boolean::New(env, bpf_map_delete_elem(bpf_map__fd(skel_->maps.muted_conns), &id) == 0);
  }

  // Drains the ring into batch_ and hands it to JS. Returns records delivered.
  int64_t DrainOnce(Napi::Env env) {
    if (!rb_ || draining_) return 0;
    draining_ = true;
    batch_.clear();
    int rc = ring_buffer__consume(rb_);
    if (rc == kBudgetStop) budget_stops_++;
    draining_ = false;
    if (batch_.empty()) return 0;
    batches_++;
    if (!on_batch_.IsEmpty()) {
      Napi::HandleScope scope(env);
      Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::Copy(env, batch_.data(), batch_.size());
      try {
        on_batch_.MakeCallback(env.Global(), {buf}, *async_ctx_);
      } catch (const Napi::Error& e) {
        // A JS exception must not unwind through libuv's C frames (that aborts the process):
        // count it and keep consuming. The JS side also guards its listeners.
        callback_errors_++;
        last_callback_error_ = e.Message();
      }
    }
    // Give back a large buffer once traffic calms down.
    if (batch_.capacity() > kBatchBudgetBytes && batch_.size() < kBatchBudgetBytes / 16) std::vector<uint8_t>().swap(batch_);
    return rc;
  }

  static void OnPoll(uv_poll_t* h, int status, int events) {
    auto* self = static_cast<Loader*>(h->data);
    self->wakeups_++;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    self->DrainOnce(env);
  }

  static void OnTimer(uv_timer_t* h) {
    auto* self = static_cast<Loader*>(h->data);
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    if (self->DrainOnce(env) != 0) self->timer_drains_++;
  }

  // start(onBatch, {drainIntervalMs}): begins consumption on the event loop.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    if (rb_) throw Napi::Error::New(env, "already started");
    on_batch_ = Napi::Persistent(info[0].As<Napi::Function>());
    async_ctx_ = std::make_unique<Napi::AsyncContext>(env, "llmslo.ringbuf");
    uint32_t interval = 20;
    if (info.Length() > 1 && info[1].IsObject()) {
      Napi::Object o = info[1].As<Napi::Object>();
      if (o.Has("drainIntervalMs")) interval = o.Get("drainIntervalMs").As<Napi::Number>().Uint32Value();
    }
    rb_ = ring_buffer__new(bpf_map__fd(skel_->maps.events), OnRecord, this, nullptr);
    if (!rb_) {
      on_batch_.Reset();
      async_ctx_.reset();
      throw Napi::Error::New(env, "ring_buffer__new: " + Errno(errno));
    }
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    poll_->data = this;
    if (uv_poll_init(loop, poll_, bpf_map__fd(skel_->maps.events)) != 0) {
      delete poll_;
      poll_ = nullptr;
      ring_buffer__free(rb_);
      rb_ = nullptr;
      throw Napi::Error::New(env, "uv_poll_init on ring buffer failed");
    }
    uv_poll_start(poll_, UV_READABLE, OnPoll);
    // interval 0: no timer here; the caller drains periodically itself (one timer, one wake-up)
    if (interval > 0) {
      timer_ = new uv_timer_t;
      timer_->data = this;
      uv_timer_init(loop, timer_);
      uv_timer_start(timer_, OnTimer, interval, interval);
      // The timer alone should not keep the process alive; the poll handle does while started.
      uv_unref(reinterpret_cast<uv_handle_t*>(timer_));
    }
    return env.Undefined();
  }

  Napi::Value Drain(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t total = 0;
    for (int i = 0; i < 1000; i++) {  // bounded: stop once the ring is empty
      size_t before = records_;
      DrainOnce(env);
      if (records_ == before) break;
      total += records_ - before;
    }
    return Napi::Number::New(env, static_cast<double>(total));
  }

  // stats(): kernel per-CPU counters summed, plus loader counters.
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    Napi::Object o = Napi::Object::New(env);
    int ncpu = libbpf_num_possible_cpus();
    std::vector<uint64_t> vals(ncpu > 0 ? ncpu : 1);
    Napi::Array kernel = Napi::Array::New(env, LLMSLO_STAT_MAX);
    int fd = bpf_map__fd(skel_->maps.stats);
    for (uint32_t k = 0; k < LLMSLO_STAT_MAX; k++) {
      uint64_t sum = 0;
      if (bpf_map_lookup_elem(fd, &k, vals.data()) == 0)
        for (auto v : vals) sum += v;
      kernel.Set(k, Napi::Number::New(env, static_cast<double>(sum)));
    }
    o.Set("kernel", kernel);
    o.Set("records", Napi::Number::New(env, static_cast<double>(records_)));
    o.Set("bytes", Napi::Number::New(env, static_cast<double>(bytes_)));
    o.Set("batches", Napi::Number::New(env, static_cast<double>(batches_)));
    o.Set("wakeups", Napi::Number::New(env, static_cast<double>(wakeups_)));
    o.Set("timerDrains", Napi::Number::New(env, static_cast<double>(timer_drains_)));
    o.Set("budgetStops", Napi::Number::New(env, static_cast<double>(budget_stops_)));
    o.Set("links", Napi::Number::New(env, static_cast<double>(links_.size())));
    o.Set("callbackErrors", Napi::Number::New(env, static_cast<double>(callback_errors_)));
    o.Set("lastCallbackError", Napi::String::New(env, last_callback_error_));
    return o;
  }

  // enableRunTimeStats(): turns on kernel per-program run time accounting while the loader lives.
  Napi::Value EnableRunTimeStats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (stats_fd_ < 0) {
      stats_fd_ = bpf_enable_stats(BPF_STATS_RUN_TIME);
      if (stats_fd_ < 0) throw Napi::Error::New(env, "bpf_enable_stats: " + Errno(errno));
    }
    return env.Undefined();
  }

  // programStats(): {name: {runCount, runTimeNs}} from bpf_prog_info.
  Napi::Value ProgramStats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    Napi::Object o = Napi::Object::New(env);
    struct bpf_program* p;
    bpf_object__for_each_program(p, skel_->obj) {
      int fd = bpf_program__fd(p);
      if (fd < 0) continue;
      struct bpf_prog_info pi;
      memset(&pi, 0, sizeof(pi));
      uint32_t len = sizeof(pi);
      if (bpf_obj_get_info_by_fd(fd, &pi, &len)) continue;
      Napi::Object e = Napi::Object::New(env);
      e.Set("runCount", Napi::Number::New(env, static_cast<double>(pi.run_cnt)));
      e.Set("runTimeNs", Napi::Number::New(env, static_cast<double>(pi.run_time_ns)));
      o.Set(bpf_program__name(p), e);
    }
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (rb_) {
      Napi::HandleScope scope(env);
      // Deliver everything already in the ring before tearing down (bounded: the ring is finite
      // and the probes keep writing until detached).
      for (int i = 0; i < 64; i++) {
        uint64_t before = records_;
        DrainOnce(env);
        if (records_ == before) break;
      }
    }
    Teardown();
    return env.Undefined();
  }
};

Napi::Object InitAll(Napi::Env env, Napi::Object exports) { return Loader::Init(env, exports); }

}  // namespace

NODE_API_MODULE(llmslo_native, InitAll)
