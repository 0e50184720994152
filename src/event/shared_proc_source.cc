#include "event/shared_proc_source.h"
#include "base/mutex.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "os/bpf_monitor.h"
#include "os/descriptors.h"
#include "provider/event_source_provider.h"

namespace lwmi::event {
namespace {

class Tap;

void signal_fd(int fd) {
  const uint64_t one = 1;
  ssize_t r;
  do r = ::write(fd, &one, sizeof one);
  while (r < 0 && errno == EINTR);
}

void drain_fd(int fd) {
  uint64_t v;
  ssize_t r;
  do r = ::read(fd, &v, sizeof v);
  while (r < 0 && errno == EINTR);
}

}  // namespace

struct SharedProcSource::Core {
  Factory factory;
  size_t tap_queue;
  // Held across a start or a stop of the inner source (open and the last close); the reader
  // thread never takes it.
  base::Mutex life;
  // Guards taps and error; the reader holds it while it hands events out.
  base::Mutex mu;
  std::vector<Tap*> taps GUARDED_BY(mu);
  /// What stopped the reader (until the last tap closes).
  std::optional<Error> error GUARDED_BY(mu);
  // Touched with `life` held, and by the reader thread while it runs.
  std::unique_ptr<os::ProcEventSource> inner;
  std::thread reader;
  os::Fd stop_fd;
  std::atomic<bool> stopping{false};
  std::atomic<bool> running{false};
  std::atomic<uint64_t> lost{0}, overruns{0}, starts{0};
  std::string name = "netlink";
  bool exit_status = true;

  void read_loop();
  void close(Tap* tap);
};

namespace {

class Tap : public os::ProcEventSource {
 public:
  Tap(std::shared_ptr<SharedProcSource::Core> core, os::Fd efd)
      : core_(std::move(core)),
        efd_(std::move(efd)),
        base_lost_(core_->lost.load()),
        base_overruns_(core_->overruns.load()) {}
  ~Tap() override { core_->close(this); }
  Tap(const Tap&) = delete;
  Tap& operator=(const Tap&) = delete;

  Result<void> start() override { return {}; }  // attached when opened
  Result<size_t> read(std::vector<os::ProcEvent>* out, int timeout_ms) override {
    bool ready;
    {
      base::MutexLock lock(mu_);
      ready = !queue_.empty() || error_;
    }
    if (!ready && timeout_ms != 0) {
      pollfd pfd{efd_.get(), POLLIN, 0};
      if (::poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
        return Error{WbemStatus::kProviderFailure,
                     std::string("shared process events: poll: ") + strerror(errno)};
    }
    drain_fd(efd_.get());
    base::MutexLock lock(mu_);
    const size_t n = queue_.size();
    if (n == 0 && error_) return *error_;
    for (auto& e : queue_) out->push_back(std::move(e));
    queue_.clear();
    return n;
  }
  uint64_t lost() const override { return core_->lost.load() - base_lost_; }
  uint64_t overruns() const override {
    return core_->overruns.load() - base_overruns_ + own_overruns_.load();
  }
  int fd() const override { return efd_.get(); }
  const char* name() const override { return core_->name.c_str(); }
  bool has_exit_status() const override { return core_->exit_status; }
  void wake() override { signal_fd(efd_.get()); }

  // From the reader thread (the core's mu held).
  void push(const std::vector<os::ProcEvent>& events, bool loss) {
    bool any = loss;
    {
      base::MutexLock lock(mu_);
      const size_t room = core_->tap_queue > queue_.size() ? core_->tap_queue - queue_.size() : 0;
      const size_t take = std::min(room, events.size());
      queue_.insert(queue_.end(), events.begin(), events.begin() + static_cast<ptrdiff_t>(take));
      if (take < events.size()) {
        ++own_overruns_;  // this stream alone fell behind: it rescans
        // A rescan finds nothing of a program the exec guard killed: its block is kept beyond
        // the limit (the guard's breaker bounds how many there are).
        for (size_t i = take; i < events.size(); ++i)
          if (events[i].blocked) queue_.push_back(events[i]);
      }
      any = any || !events.empty();
    }
    if (any) signal_fd(efd_.get());
  }
  void fail(const Error& e) {
    {
      base::MutexLock lock(mu_);
      error_ = e;
    }
    signal_fd(efd_.get());
  }

 private:
  std::shared_ptr<SharedProcSource::Core> core_;
  os::Fd efd_;
  uint64_t base_lost_, base_overruns_;
  std::atomic<uint64_t> own_overruns_{0};
  base::Mutex mu_;
  std::vector<os::ProcEvent> queue_ GUARDED_BY(mu_);
  std::optional<Error> error_ GUARDED_BY(mu_);
};

}  // namespace

void SharedProcSource::Core::read_loop() {
  std::vector<os::ProcEvent> events;
  while (!stopping.load()) {
    int timeout = 20;  // a source without a descriptor (a fake) is read in short slices
    if (const int fd = inner->fd(); fd >= 0) {
      pollfd pfd[2] = {{fd, POLLIN, 0}, {stop_fd.get(), POLLIN, 0}};
      if (::poll(pfd, 2, -1) < 0 && errno != EINTR) {
        base::MutexLock lock(mu);
        error = Error{WbemStatus::kProviderFailure,
                      std::string("shared process events: poll: ") + strerror(errno)};
        for (Tap* t : taps) t->fail(*error);
        return;
      }
      if (stopping.load()) return;
      timeout = 0;
    }
    events.clear();
    auto n = inner->read(&events, timeout);
    if (!n.ok()) {
      base::MutexLock lock(mu);
      error = n.error();
      for (Tap* t : taps) t->fail(*error);
      return;
    }
    const uint64_t l = inner->lost(), o = inner->overruns();
    const bool loss = l != lost.load() || o != overruns.load();
    lost = l;
    overruns = o;
    if (events.empty() && !loss) continue;
    base::MutexLock lock(mu);
    for (Tap* t : taps) t->push(events, loss);
  }
}

void SharedProcSource::Core::close(Tap* tap) {
  base::MutexLock life_lock(life);
  bool last;
  {
    base::MutexLock lock(mu);
    taps.erase(std::remove(taps.begin(), taps.end(), tap), taps.end());
    last = taps.empty();
  }
  if (!last) return;
  stopping = true;
  signal_fd(stop_fd.get());
  if (reader.joinable()) reader.join();
  inner.reset();  // closes the socket (PROC_CN_MCAST_IGNORE first)
  stop_fd.reset();
  running = false;
  base::MutexLock lock(mu);
  error.reset();
}

SharedProcSource::SharedProcSource(Factory factory, size_t tap_queue)
    : core_(std::make_shared<Core>()) {
  core_->factory = std::move(factory);
  core_->tap_queue = std::max<size_t>(1, tap_queue);
}

SharedProcSource::~SharedProcSource() = default;

SharedProcSource& SharedProcSource::global() {
  // Never destroyed: streams may still close while the process exits.
  static SharedProcSource* g = new SharedProcSource([]() -> std::unique_ptr<os::ProcEventSource> {
    using provider::EventSourceStats;
    auto monitor = os::BpfMonitor::shared();
    if (monitor.ok()) {
      EventSourceStats::global().set_unavailable(EventSourceStats::Kind::kBpf, "");
      return std::make_unique<os::BpfProcEvents>(*monitor);
    }
    EventSourceStats::global().set_unavailable(EventSourceStats::Kind::kBpf,
                                               monitor.error().message);
    return std::make_unique<os::NetlinkProcEvents>();
  });
  return *g;
}

SharedProcSource& SharedProcSource::netlink() {
  static SharedProcSource* g =
      new SharedProcSource([] { return std::make_unique<os::NetlinkProcEvents>(); });
  return *g;
}

Result<std::unique_ptr<os::ProcEventSource>> SharedProcSource::open() {
  Core& c = *core_;
  base::MutexLock life_lock(c.life);
  {
    base::MutexLock lock(c.mu);
    if (c.error) return *c.error;
  }
  os::Fd efd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!efd)
    return Error{WbemStatus::kProviderFailure,
                 std::string("shared process events: eventfd: ") + strerror(errno)};
  if (!c.running.load()) {
    auto inner = c.factory();
    if (auto r = inner->start(); !r.ok()) return r.take_error();
    c.stop_fd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!c.stop_fd) {
      return Error{WbemStatus::kProviderFailure,
                   std::string("shared process events: eventfd: ") + strerror(errno)};
    }
    c.name = inner->name();
    c.exit_status = inner->has_exit_status();
    c.lost = inner->lost();
    c.overruns = inner->overruns();
    c.inner = std::move(inner);
    c.stopping = false;
    c.running = true;
    ++c.starts;
    c.reader = std::thread([&c] { c.read_loop(); });
  }
  auto tap = std::make_unique<Tap>(core_, std::move(efd));
  {
    base::MutexLock lock(c.mu);
    c.taps.push_back(tap.get());
    if (c.error) tap->fail(*c.error);  // the reader stopped since the check above
  }
  return std::unique_ptr<os::ProcEventSource>(std::move(tap));
}

size_t SharedProcSource::taps() const {
  base::MutexLock lock(core_->mu);
  return core_->taps.size();
}

bool SharedProcSource::running() const {
  return core_->running.load();
}

uint64_t SharedProcSource::starts() const {
  return core_->starts.load();
}

}  // namespace lwmi::event
