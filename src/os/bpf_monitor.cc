#include "os/bpf_monitor.h"
#include "base/mutex.h"

#include <linux/types.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <map>
#include <string_view>

#include "os/bpf/abi.h"
#include "os/descriptors.h"
#include "os/pid_namespace.h"

#if LWMI_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "process_monitor.skel.h"
#endif

namespace lwmi::os {

uint64_t kernel_dev(uint64_t st_dev) {
  return static_cast<uint64_t>(major(st_dev)) << 20 | minor(st_dev);
}

bool encode_guard_key(const GuardKey& k, lwmi_rule_key* out) {
  std::memset(out, 0, sizeof(*out));
  out->kind = static_cast<uint32_t>(k.kind);
  out->dev = k.dev;
  out->ino = k.ino;
  out->uid = k.uid ? *k.uid : LWMI_ANY_UID;
  const size_t limit = k.kind == GuardKey::Kind::kComm ? LWMI_COMM_LEN - 1 : LWMI_NAME_LEN - 1;
  if (k.name.size() > limit || k.name.find('\0') != std::string::npos) return false;
  if (k.kind != GuardKey::Kind::kIdentity && k.name.empty()) return false;
  std::memcpy(out->name, k.name.data(), k.name.size());
  return true;
}

std::string path_from_parts(const char* data, size_t bytes, uint32_t parts, bool truncated) {
  std::vector<std::string_view> comps;
  size_t pos = 0;
  while (pos < bytes && comps.size() < parts) {
    const void* nul = std::memchr(data + pos, '\0', bytes - pos);
    const size_t len =
        nul ? static_cast<size_t>(static_cast<const char*>(nul) - (data + pos)) : bytes - pos;
    comps.emplace_back(data + pos, len);
    pos += len + 1;
  }
  if (comps.empty()) return truncated ? std::string() : std::string("/");
  std::string path;
  if (truncated) path = "…";
  for (auto it = comps.rbegin(); it != comps.rend(); ++it) {
    path += '/';
    path.append(*it);
  }
  return path;
}

#if LWMI_HAVE_BPF

static_assert(sizeof(lwmi_event_head) == 88, "abi.h: the record header's layout changed");

struct BpfMonitor::Impl {
  lwmi_process_monitor* skel = nullptr;
  ring_buffer* rb = nullptr;
  std::vector<ProcEvent>* sink = nullptr;  // while read() polls
  mutable base::Mutex mu;                  // config and rule updates
  lwmi_config cfg GUARDED_BY(mu){};
  int event_users GUARDED_BY(mu) = 0;
  // Encoded key -> rule (for rule_keys()).
  std::map<std::vector<char>, uint32_t> keys GUARDED_BY(mu);

  ~Impl() {
    if (rb) ring_buffer__free(rb);
    if (skel) lwmi_process_monitor__destroy(skel);
  }
  bool guard_allowed GUARDED_BY(mu) = true;  // set_guard()
  // The check at exec runs only while rules exist (and are allowed): otherwise every exec on
  // the host would pay for the lookups of an empty map.
  void update_guard() REQUIRES(mu) {
    const uint32_t on = guard_allowed && !keys.empty() ? 1 : 0;
    if (on == cfg.guard) return;
    cfg.guard = on;
    write_config();
  }
  void write_config() REQUIRES(mu) {
    const uint32_t zero = 0;
    bpf_map_update_elem(bpf_map__fd(skel->maps.config), &zero, &cfg, BPF_ANY);
  }
  static int on_record(void* ctx, void* data, size_t size);
};

namespace {

std::vector<std::string> split_argv(const char* data, size_t n) {
  std::vector<std::string> argv;
  size_t pos = 0;
  while (pos < n) {
    const void* nul = std::memchr(data + pos, '\0', n - pos);
    const size_t len =
        nul ? static_cast<size_t>(static_cast<const char*>(nul) - (data + pos)) : n - pos;
    argv.emplace_back(data + pos, len);
    pos += len + 1;
  }
  return argv;
}

std::string comm_of(const char (&c)[LWMI_COMM_LEN]) {
  return std::string(c, strnlen(c, LWMI_COMM_LEN));
}

// This process's mappings of BPF maps (start -> end), from /proc/self/maps.
std::map<uintptr_t, uintptr_t> bpf_map_mappings() {
  std::map<uintptr_t, uintptr_t> out;
  std::string maps;
  if (read_file("/proc/self/maps", &maps) != 0) return out;
  size_t pos = 0;
  while (pos < maps.size()) {
    size_t eol = maps.find('\n', pos);
    if (eol == std::string::npos) eol = maps.size();
    const std::string_view line(maps.data() + pos, eol - pos);
    pos = eol + 1;
    constexpr std::string_view kName = " anon_inode:bpf-map";
    if (line.size() < kName.size() || line.substr(line.size() - kName.size()) != kName) continue;
    unsigned long start = 0, end = 0;
    if (std::sscanf(std::string(line.substr(0, line.find(' '))).c_str(), "%lx-%lx", &start, &end) ==
        2)
      out[start] = end;
  }
  return out;
}

// The ring buffer's pages are mapped into this process (the 16 MiB data area twice), and fork()
// copies the page-table entries of such a mapping eagerly: about 1.5 ms more for every fork of
// the process that loaded the programs (lwmid's Create forks twice). No child uses the ring
// buffer, so its mappings are not inherited. libbpf does not say where it mapped them: they are
// the mappings of BPF maps that ring_buffer__new added.
void dont_fork_new_mappings(const std::map<uintptr_t, uintptr_t>& before) {
  for (const auto& [start, end] : bpf_map_mappings())
    if (!before.count(start))
      ::madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTFORK);  // cost only
}

}  // namespace

int BpfMonitor::Impl::on_record(void* ctx, void* data, size_t size) {
  auto* self = static_cast<Impl*>(ctx);
  if (size < sizeof(lwmi_event_head) || !self->sink) return 0;
  lwmi_event_head h;
  std::memcpy(&h, data, sizeof(h));
  ProcEvent e;
  e.timestamp_ns = h.timestamp_ns;
  e.pid = e.tgid = h.pid;
  e.parent_pid = e.parent_tgid = h.ppid;
  e.comm = comm_of(h.comm);
  switch (h.kind) {
    case LWMI_EV_FORK:
      e.kind = ProcEvent::Kind::kFork;
      break;
    case LWMI_EV_EXEC:
      e.kind = ProcEvent::Kind::kExec;
      break;
    case LWMI_EV_EXIT:
      e.kind = ProcEvent::Kind::kExit;
      e.exit_code = h.exit_code;
      self->sink->push_back(std::move(e));
      return 0;
    default:
      return 0;
  }
  // Variable length: the fixed part, then path_bytes of path and argv_bytes of argv.
  constexpr size_t kFixed = offsetof(lwmi_exec_event, data);
  if (size < kFixed) return 0;
  lwmi_exec_event fixed;
  std::memcpy(&fixed, data, kFixed);
  const char* bytes = static_cast<const char*>(data) + kFixed;
  const size_t avail = size - kFixed;
  const size_t path_bytes = std::min<size_t>(fixed.path_bytes, avail);
  const size_t argv_bytes = std::min<size_t>(fixed.argv_bytes, avail - path_bytes);
  const lwmi_exec_event* x = &fixed;
  auto rec = std::make_shared<ProcessRecord>();
  rec->start_ns = h.start_ns;
  rec->ppid = h.ppid;
  rec->uid = h.uid;
  rec->euid = h.euid;
  rec->suid = h.suid;
  rec->gid = h.gid;
  rec->egid = h.egid;
  rec->comm = e.comm;
  rec->cgroup_id = h.cgroup_id;
  if (!(h.flags & LWMI_F_NO_FILE)) {
    rec->dev = x->dev;
    rec->ino = x->ino;
    rec->exe_truncated = (h.flags & LWMI_F_PATH_TRUNCATED) != 0;
    rec->exe = path_from_parts(bytes, path_bytes, x->path_parts, rec->exe_truncated);
  }
  rec->argv = split_argv(bytes + path_bytes, argv_bytes);
  rec->argv_truncated = (h.flags & LWMI_F_ARGV_TRUNCATED) != 0;
  e.record = std::move(rec);
  e.blocked = (h.flags & LWMI_F_BLOCKED) != 0;
  e.breaker = (h.flags & LWMI_F_BREAKER) != 0;
  if (e.blocked || e.breaker) e.blocked_rule = h.rule;
  self->sink->push_back(std::move(e));
  return 0;
}

Result<std::shared_ptr<BpfMonitor>> BpfMonitor::load(uint32_t ring_bytes) {
  // Records and rules speak of the initial namespace's pids (and of lwmid's own tgid and a
  // session id): in a child pid namespace, events would carry host pids as the caller's own,
  // and getpid() would protect the wrong process.
  if (!in_initial_pid_namespace())
    return Error{WbemStatus::kNotSupported,
                 "BPF process events and rules speak of the initial pid namespace's pids, and "
                 "this process runs in another (a container)"};
  auto impl = std::make_unique<Impl>();
  libbpf_set_print([](enum libbpf_print_level, const char*, va_list) { return 0; });
  impl->skel = lwmi_process_monitor__open();
  if (!impl->skel)
    return Error{WbemStatus::kFailed,
                 std::string("BPF programs could not be opened: ") + strerror(errno)};
  if (int err = bpf_map__set_max_entries(impl->skel->maps.events, ring_bytes); err != 0)
    return Error{WbemStatus::kInvalidParameter,
                 "BPF ring buffer size " + std::to_string(ring_bytes) + ": " + strerror(-err)};
  if (int err = lwmi_process_monitor__load(impl->skel); err != 0)
    return Error{WbemStatus::kFailed,
                 std::string("BPF programs could not be loaded: ") + strerror(-err) +
                     (-err == EPERM ? " (needs CAP_BPF and CAP_PERFMON)" : "")};
  {
    base::MutexLock lock(impl->mu);  // not shared yet; write_config() is written locked
    impl->cfg.daemon_tgid = static_cast<int32_t>(::getpid());
    impl->cfg.breaker_per_second = 0;
    impl->write_config();
  }
  if (int err = lwmi_process_monitor__attach(impl->skel); err != 0)
    return Error{WbemStatus::kFailed,
                 std::string("BPF programs could not be attached: ") + strerror(-err)};
  const auto mapped_before = bpf_map_mappings();
  impl->rb =
      ring_buffer__new(bpf_map__fd(impl->skel->maps.events), &Impl::on_record, impl.get(), nullptr);
  if (!impl->rb)
    return Error{WbemStatus::kFailed,
                 std::string("BPF ring buffer could not be opened: ") + strerror(errno)};
  dont_fork_new_mappings(mapped_before);
  return std::shared_ptr<BpfMonitor>(new BpfMonitor(std::move(impl)));
}

void BpfMonitor::enable_events() {
  base::MutexLock lock(impl_->mu);
  if (impl_->event_users++ == 0) {
    impl_->cfg.events = 1;
    impl_->write_config();
  }
}

void BpfMonitor::disable_events() {
  base::MutexLock lock(impl_->mu);
  if (impl_->event_users > 0 && --impl_->event_users == 0) {
    impl_->cfg.events = 0;
    impl_->write_config();
  }
}

Result<size_t> BpfMonitor::read(std::vector<ProcEvent>* out, int timeout_ms) {
  const size_t before = out->size();
  // Woken by the first record, the reader lets more gather for kBatchDelay before it consumes
  // them: the kernel wakes a reader only when it has caught up, so a burst costs one wake-up
  // rather than one per record (about 40 us of every fork+exec+exit here). Events reach user
  // space up to kBatchDelay later; the guard, in the kernel, is not delayed.
  pollfd pfd{ring_buffer__epoll_fd(impl_->rb), POLLIN, 0};
  int ready = ::poll(&pfd, 1, timeout_ms);
  if (ready < 0 && errno != EINTR)
    return Error{WbemStatus::kProviderFailure,
                 std::string("BPF ring buffer: poll: ") + strerror(errno)};
  if (ready <= 0) return size_t{0};
  if (timeout_ms != 0) ::usleep(kBatchDelay.count());
  impl_->sink = out;
  int n = ring_buffer__consume(impl_->rb);
  impl_->sink = nullptr;
  if (n < 0 && n != -EINTR)
    return Error{WbemStatus::kProviderFailure, std::string("BPF ring buffer: ") + strerror(-n)};
  return out->size() - before;
}

uint64_t BpfMonitor::lost() const {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return 0;
  std::vector<uint64_t> per_cpu(static_cast<size_t>(cpus));
  const uint32_t zero = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(impl_->skel->maps.lost), &zero, per_cpu.data()) != 0)
    return 0;
  uint64_t sum = 0;
  for (uint64_t v : per_cpu) sum += v;
  return sum;
}

int BpfMonitor::fd() const {
  return ring_buffer__epoll_fd(impl_->rb);
}

Result<void> BpfMonitor::add_rule(const GuardKey& key, uint32_t rule, uint32_t exempt_session) {
  lwmi_rule_key k;
  if (!encode_guard_key(key, &k))
    return Error{WbemStatus::kInvalidParameter,
                 "a guard rule's name must be 1-255 bytes (a comm 1-15) without NUL"};
  lwmi_rule_value v{rule, exempt_session};
  base::MutexLock lock(impl_->mu);
  lwmi_rule_state st{};
  bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.rule_state), &rule, &st, BPF_NOEXIST);
  if (bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.rules), &k, &v, BPF_ANY) != 0)
    return Error{WbemStatus::kQuotaViolation,
                 std::string("the exec guard's rule map is full: ") + strerror(errno)};
  impl_->keys[std::vector<char>(reinterpret_cast<char*>(&k), reinterpret_cast<char*>(&k + 1))] =
      rule;
  impl_->update_guard();
  return {};
}

void BpfMonitor::remove_rule(const GuardKey& key) {
  lwmi_rule_key k;
  if (!encode_guard_key(key, &k)) return;
  base::MutexLock lock(impl_->mu);
  bpf_map_delete_elem(bpf_map__fd(impl_->skel->maps.rules), &k);
  impl_->keys.erase(
      std::vector<char>(reinterpret_cast<char*>(&k), reinterpret_cast<char*>(&k + 1)));
  impl_->update_guard();
}

void BpfMonitor::forget_rule(uint32_t rule) {
  base::MutexLock lock(impl_->mu);
  bpf_map_delete_elem(bpf_map__fd(impl_->skel->maps.rule_state), &rule);
}

GuardRuleState BpfMonitor::rule_state(uint32_t rule) const {
  lwmi_rule_state st{};
  GuardRuleState out;
  if (bpf_map_lookup_elem(bpf_map__fd(impl_->skel->maps.rule_state), &rule, &st) == 0) {
    out.blocked = st.blocked;
    out.tripped = st.tripped != 0;
  }
  return out;
}

Result<void> BpfMonitor::protect(uint64_t dev, uint64_t ino) {
  lwmi_identity id{dev, ino};
  const uint8_t one = 1;
  if (bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.protected_files), &id, &one, BPF_ANY) != 0)
    return Error{WbemStatus::kQuotaViolation,
                 std::string("the exec guard's protected list is full: ") + strerror(errno)};
  return {};
}

void BpfMonitor::set_guard(bool on) {
  base::MutexLock lock(impl_->mu);
  impl_->guard_allowed = on;
  impl_->update_guard();
}

void BpfMonitor::set_breaker(uint32_t per_second) {
  base::MutexLock lock(impl_->mu);
  impl_->cfg.breaker_per_second = per_second;
  impl_->write_config();
}

size_t BpfMonitor::rule_keys() const {
  base::MutexLock lock(impl_->mu);
  return impl_->keys.size();
}

#else  // !LWMI_HAVE_BPF

struct BpfMonitor::Impl {};

Result<std::shared_ptr<BpfMonitor>> BpfMonitor::load(uint32_t) {
  return Error{WbemStatus::kNotSupported,
               "lwmi was built without BPF (clang, libbpf-dev and bpftool were not found)"};
}
void BpfMonitor::enable_events() {}
void BpfMonitor::disable_events() {}
Result<size_t> BpfMonitor::read(std::vector<ProcEvent>*, int) {
  return size_t{0};
}
uint64_t BpfMonitor::lost() const {
  return 0;
}
int BpfMonitor::fd() const {
  return -1;
}
Result<void> BpfMonitor::add_rule(const GuardKey&, uint32_t, uint32_t) {
  return Error{WbemStatus::kNotSupported, "lwmi was built without BPF"};
}
void BpfMonitor::remove_rule(const GuardKey&) {}
void BpfMonitor::forget_rule(uint32_t) {}
GuardRuleState BpfMonitor::rule_state(uint32_t) const {
  return {};
}
Result<void> BpfMonitor::protect(uint64_t, uint64_t) {
  return Error{WbemStatus::kNotSupported, "lwmi was built without BPF"};
}
void BpfMonitor::set_guard(bool) {}
void BpfMonitor::set_breaker(uint32_t) {}
size_t BpfMonitor::rule_keys() const {
  return 0;
}

#endif

BpfMonitor::BpfMonitor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BpfMonitor::~BpfMonitor() = default;

Result<std::shared_ptr<BpfMonitor>> BpfMonitor::shared() {
  static std::mutex mu;
  static std::weak_ptr<BpfMonitor> current;
  std::lock_guard<std::mutex> lock(mu);
  if (auto m = current.lock()) return m;
  auto m = load();
  if (!m.ok()) return m.take_error();
  current = *m;
  return *m;
}

BpfProcEvents::BpfProcEvents(std::shared_ptr<BpfMonitor> monitor) : monitor_(std::move(monitor)) {}

BpfProcEvents::~BpfProcEvents() {
  if (started_) monitor_->disable_events();
}

Result<void> BpfProcEvents::start() {
  if (!started_) {
    base_lost_ = monitor_->lost();
    monitor_->enable_events();
    started_ = true;
  }
  return {};
}

Result<size_t> BpfProcEvents::read(std::vector<ProcEvent>* out, int timeout_ms) {
  return monitor_->read(out, timeout_ms);
}

uint64_t BpfProcEvents::lost() const {
  return monitor_->lost() - base_lost_;
}

}  // namespace lwmi::os
