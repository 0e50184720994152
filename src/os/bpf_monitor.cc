#include "os/bpf_monitor.h"

#include <linux/types.h>
#include <poll.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "os/bpf/abi.h"
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
  mutable std::mutex mu;                   // config and rule updates
  lwmi_config cfg{};
  int event_users = 0;
  std::map<std::vector<char>, uint32_t> keys;  // encoded key -> rule (for rule_keys())

  ~Impl() {
    if (rb) ring_buffer__free(rb);
    if (skel) lwmi_process_monitor__destroy(skel);
  }
  void write_config() {
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
  if (size < sizeof(lwmi_exec_event)) return 0;
  const auto* x = static_cast<const lwmi_exec_event*>(data);
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
    rec->exe = path_from_parts(x->path, std::min<size_t>(x->path_bytes, sizeof(x->path)),
                               x->path_parts, rec->exe_truncated);
  }
  rec->argv = split_argv(x->argv, std::min<size_t>(x->argv_bytes, sizeof(x->argv)));
  rec->argv_truncated = (h.flags & LWMI_F_ARGV_TRUNCATED) != 0;
  e.record = std::move(rec);
  e.blocked = (h.flags & LWMI_F_BLOCKED) != 0;
  e.breaker = (h.flags & LWMI_F_BREAKER) != 0;
  if (e.blocked || e.breaker) e.blocked_rule = h.rule;
  self->sink->push_back(std::move(e));
  return 0;
}

Result<std::shared_ptr<BpfMonitor>> BpfMonitor::load() {
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
  if (int err = lwmi_process_monitor__load(impl->skel); err != 0)
    return Error{WbemStatus::kFailed,
                 std::string("BPF programs could not be loaded: ") + strerror(-err) +
                     (-err == EPERM ? " (needs CAP_BPF and CAP_PERFMON)" : "")};
  impl->cfg.daemon_tgid = static_cast<int32_t>(::getpid());
  impl->cfg.breaker_per_second = 0;
  impl->write_config();
  if (int err = lwmi_process_monitor__attach(impl->skel); err != 0)
    return Error{WbemStatus::kFailed,
                 std::string("BPF programs could not be attached: ") + strerror(-err)};
  impl->rb =
      ring_buffer__new(bpf_map__fd(impl->skel->maps.events), &Impl::on_record, impl.get(), nullptr);
  if (!impl->rb)
    return Error{WbemStatus::kFailed,
                 std::string("BPF ring buffer could not be opened: ") + strerror(errno)};
  return std::shared_ptr<BpfMonitor>(new BpfMonitor(std::move(impl)));
}

void BpfMonitor::enable_events() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->event_users++ == 0) {
    impl_->cfg.events = 1;
    impl_->write_config();
  }
}

void BpfMonitor::disable_events() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->event_users > 0 && --impl_->event_users == 0) {
    impl_->cfg.events = 0;
    impl_->write_config();
  }
}

Result<size_t> BpfMonitor::read(std::vector<ProcEvent>* out, int timeout_ms) {
  const size_t before = out->size();
  impl_->sink = out;
  int n = ring_buffer__poll(impl_->rb, timeout_ms);
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
  std::lock_guard<std::mutex> lock(impl_->mu);
  lwmi_rule_state st{};
  bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.rule_state), &rule, &st, BPF_NOEXIST);
  if (bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.rules), &k, &v, BPF_ANY) != 0)
    return Error{WbemStatus::kQuotaViolation,
                 std::string("the exec guard's rule map is full: ") + strerror(errno)};
  impl_->keys[std::vector<char>(reinterpret_cast<char*>(&k), reinterpret_cast<char*>(&k + 1))] =
      rule;
  if (!impl_->cfg.guard) {
    impl_->cfg.guard = 1;
    impl_->write_config();
  }
  return {};
}

void BpfMonitor::remove_rule(const GuardKey& key) {
  lwmi_rule_key k;
  if (!encode_guard_key(key, &k)) return;
  std::lock_guard<std::mutex> lock(impl_->mu);
  bpf_map_delete_elem(bpf_map__fd(impl_->skel->maps.rules), &k);
  impl_->keys.erase(
      std::vector<char>(reinterpret_cast<char*>(&k), reinterpret_cast<char*>(&k + 1)));
}

void BpfMonitor::forget_rule(uint32_t rule) {
  std::lock_guard<std::mutex> lock(impl_->mu);
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
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->cfg.guard = on ? 1 : 0;
  impl_->write_config();
}

void BpfMonitor::set_breaker(uint32_t per_second) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->cfg.breaker_per_second = per_second;
  impl_->write_config();
}

size_t BpfMonitor::rule_keys() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->keys.size();
}

#else  // !LWMI_HAVE_BPF

struct BpfMonitor::Impl {};

Result<std::shared_ptr<BpfMonitor>> BpfMonitor::load() {
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
