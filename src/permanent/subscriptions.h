// permanent/subscriptions.h — lwmid's permanent subscriptions as one part: the store (state
// directory), the files of subscriptions.d, and the engine running their bindings; kept in step
// (a change through the API or a reload restarts only the bindings it touched).
// Thread safety: start() and stop() once, from lwmid's main thread; the rest concurrently.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "permanent/engine.h"
#include "permanent/store.h"

namespace lwmi::permanent {

/// Who permanent subscriptions act as: lwmid itself (uid 0, SeDebugPrivilege held and enabled,
/// user "lwmid", peer "subscription"), the caller its streams, Terminate calls and audit lines
/// name.
security::Caller daemon_caller();

/// The consumers' settings from lwmid's [subscriptions].
ConsumerSettings consumer_settings(const config::SubscriptionsConfig& c);

class PermanentSubscriptions {
 public:
  /// The store file is STATE_DIR/subscriptions.json. deps.settings and breaker_failures are set
  /// from `config`.
  PermanentSubscriptions(const config::Config& config, EngineDeps deps);
  ~PermanentSubscriptions();

  /// Loads the store and subscriptions.d and starts every binding. Returns the problems to log:
  /// a corrupt store (it stays empty and refuses changes) or a bad file (no file's definitions
  /// run); each names where.
  std::vector<std::string> start();
  /// SIGHUP: re-reads subscriptions.d (a bad file keeps what ran: the error names it) and
  /// restarts tripped or failed bindings. Returns a summary line for the log.
  Result<std::string> reload();
  void stop();

  Store& store() { return store_; }
  const Engine& engine() const { return *engine_; }

 private:
  std::string directory_;
  Store store_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace lwmi::permanent
