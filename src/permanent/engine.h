// permanent/engine.h — runs the bindings: for each __FilterToConsumerBinding whose filter and
// consumer exist, an event stream of the filter's query and a thread that hands each event to
// the consumer, counting what fired and what failed.
//
// Streams are opened as lwmid itself (every process; the filter was made by an admin), one per
// binding so a slow or failing consumer never holds back another. A terminate consumer's stream
// asks for the exec guard: where the kernel can decide the filter, the program is stopped
// before it runs and arrives as an LWMI_ProcessBlockedTrace; otherwise it is ended by its pid
// and start time. A consumer that fails `breaker_failures` times in a row trips: its binding
// stops (State "tripped") until the next reload or restart. Every consumer action is audited.
// Thread safety: apply(), states() and stop() may be called concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "lwmi/services.h"
#include "permanent/consumers.h"
#include "permanent/model.h"
#include "security/audit.h"
#include "security/caller.h"

namespace lwmi::permanent {

struct EngineDeps {
  /// Opens a binding's event stream (as lwmid: every process).
  std::function<Result<std::unique_ptr<EventStream>>(std::string_view wql,
                                                     const NotificationOptions& options)>
      open_stream;
  /// Ends the process `path` names (Win32_Process.Handle=…,CreationDate=…) with `reason`: WMI's
  /// return value (0 done, 2/3 refused, 9 gone…), audited by the service.
  std::function<Result<uint32_t>(const std::string& path, uint32_t reason)> terminate;
  ConsumerSettings settings;
  security::AuditLog* audit = nullptr;
  security::Caller audit_caller;  ///< who the audit lines name for consumer actions
  uint32_t breaker_failures = 10;
};

/// What became of one binding (LWMI_SubscriptionState).
struct BindingState {
  Binding binding;
  std::string state;  ///< "active", "tripped", "failed"
  uint64_t fired = 0;
  uint64_t failures = 0;
  uint64_t consecutive_failures = 0;
  std::optional<std::chrono::system_clock::time_point> last_fired;
  std::string last_failure;
  uint64_t lost = 0;
  std::string guard;  ///< "on: file name 'x'", "off: why", "" for other consumers
};

class Engine {
 public:
  explicit Engine(EngineDeps deps);
  ~Engine();  ///< stop()
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Runs the bindings of `defs`: starts new ones, stops those gone, restarts those whose filter
  /// or consumer changed; with `reset`, also restarts tripped and failed ones (a reload).
  void apply(const Definitions& defs, bool reset = false);
  std::vector<BindingState> states() const;
  /// Ends every binding (waits for their threads; commands still running are killed).
  void stop();

 private:
  struct Running;
  std::shared_ptr<Running> start(const Binding& b, const EventFilter& f, const Consumer& c);
  void run(const std::shared_ptr<Running>& r);
  void deliver(const std::shared_ptr<Running>& r, const Instance& event);
  void outcome(const std::shared_ptr<Running>& r, const Instance& event, Result<void> result);

  EngineDeps deps_;
  std::shared_ptr<CommandRunner> runner_;
  mutable base::Mutex mu_;
  std::map<std::string, std::shared_ptr<Running>> running_ GUARDED_BY(mu_);  ///< by binding path
};

}  // namespace lwmi::permanent
