// event/shared_snapshot.h — one /proc snapshot per polling tick, shared by every subscription
// that polls (modification events need polling: DESIGN decision 6).
//
// Subscriptions register the Win32_Process properties they compare; a snapshot reads, for every
// process, only the union of what the registered subscriptions of the same view need. Ticks are
// aligned to multiples of the polling interval on the monotonic clock, so subscriptions with
// the same WITHIN (or multiples of it) wake together and the first to ask takes the snapshot the
// others then reuse. Views are per caller (Caller::view_key: uid, euid, privileges enabled,
// pid namespace or nowhere): masking and the pid view differ between callers, so their
// snapshots are never mixed.
// Thread safety: safe to call concurrently; snapshots are immutable once returned.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/mutex.h"
#include "lwmi/instance.h"
#include "provider/event_source_provider.h"
#include "provider/process/process_provider.h"

namespace lwmi::event {

struct ProcessSnapshot {
  using Clock = std::chrono::steady_clock;
  Clock::time_point taken;
  provider::PropertySet properties;  ///< what each row holds
  struct Row {
    uint64_t start = 0;  ///< start ticks: (pid, start) is the key
    Instance instance;
  };
  std::unordered_map<int32_t, Row> rows;
};

class SharedSnapshots {
 public:
  using Clock = ProcessSnapshot::Clock;
  /// The one instance of this process.
  static SharedSnapshots& global();

  /// While alive, snapshots for `caller`'s view on `provider` include `props`.
  class Registration {
   public:
    Registration() = default;
    Registration(SharedSnapshots* owner, std::string view, uint64_t id)
        : owner_(owner), view_(std::move(view)), id_(id) {}
    Registration(Registration&& o) noexcept { *this = std::move(o); }
    Registration& operator=(Registration&& o) noexcept;
    ~Registration();

   private:
    SharedSnapshots* owner_ = nullptr;
    std::string view_;
    uint64_t id_ = 0;
  };
  Registration add(provider::process::ProcessProvider& provider, const security::Caller& caller,
                   const provider::PropertySet& props);

  /// A snapshot taken at or after `not_before` that holds at least `props`: the one already
  /// taken for this view when it qualifies (*shared = true), else a new one.
  std::shared_ptr<const ProcessSnapshot> get(provider::process::ProcessProvider& provider,
                                             const security::Caller& caller,
                                             const provider::PropertySet& props,
                                             Clock::time_point not_before, bool* shared,
                                             provider::EventSourceCounters* counters);

  /// The start of the tick that follows `now` for `interval`.
  static Clock::time_point next_tick(Clock::time_point now, std::chrono::milliseconds interval);

 private:
  static std::string view_of(const provider::process::ProcessProvider& provider,
                             const security::Caller& caller);

  base::Mutex mu_;
  uint64_t next_id_ GUARDED_BY(mu_) = 1;
  struct View {
    std::map<uint64_t, provider::PropertySet> wanted;
    std::shared_ptr<const ProcessSnapshot> last;
  };
  std::unordered_map<std::string, View> views_ GUARDED_BY(mu_);
};

}  // namespace lwmi::event
