// provider/event_source_provider.h — LWMI_EventSource: which process-event source this lwmi
// process uses (BPF programs, the netlink connector or /proc polling) and what it received and
// lost.
//
// EventSourceStats is process-wide: every event stream of this process (lwmid, or the embedded
// engine in lwmic / liblwmi) adds to it, and the CIM service serves it as read-only instances,
// one per source (key Source = "bpf" | "netlink" | "proc-poll"; Active and Subscriptions say which
// one is in use). Thread safety: the counters are atomics; the provider is safe to call
// concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/mutex.h"
#include "provider/provider.h"

namespace lwmi::provider {

/// The counters of one source kind.
struct EventSourceCounters {
  std::atomic<uint64_t> active{0}, subscriptions{0}, received{0}, delivered{0}, overruns{0},
      gaps{0}, rescans{0}, uncaptured{0}, polls{0}, shared_polls{0};
};

class EventSourceStats {
 public:
  enum class Kind { kNetlink = 0, kProcPoll = 1, kBpf = 2 };
  static constexpr int kKinds = 3;
  /// The one instance of this process.
  static EventSourceStats& global();
  static const char* name(Kind k) {
    return k == Kind::kNetlink ? "netlink" : k == Kind::kBpf ? "bpf" : "proc-poll";
  }
  /// The kind a source's name() stands for ("bpf", "netlink", "proc-poll").
  static Kind kind_of(std::string_view source_name);

  EventSourceCounters& of(Kind k) { return counters_[static_cast<int>(k)]; }
  /// Remembers why a source could not be used the last time it was tried ("" when it could).
  void set_unavailable(Kind k, std::string why);
  std::string unavailable(Kind k) const;

 private:
  EventSourceCounters counters_[kKinds];
  mutable base::Mutex mu_;
  std::string unavailable_[kKinds] GUARDED_BY(mu_);
};

/// Serves LWMI_EventSource from EventSourceStats::global(): an instance per source.
class EventSourceProvider : public InstanceProvider {
 public:
  EventSourceProvider();
  std::shared_ptr<const ClassDecl> class_decl() const override { return cls_; }
  std::unique_ptr<InstanceStream> enumerate(const security::Caller& caller,
                                            const Request& request) override;
  Result<Instance> get(const security::Caller& caller, const ObjectPath& path,
                       const Request& request) override;
  /// The instance for one source, as it stands now.
  Instance snapshot(EventSourceStats::Kind kind) const;

 private:
  std::shared_ptr<const ClassDecl> cls_;
};

}  // namespace lwmi::provider
