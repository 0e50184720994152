// permanent/store.h — every filter, consumer and binding lwmid knows, from both origins: the
// store (made over WS-Management or by lwmic; persisted in the state directory) and the files of
// subscriptions.d (replaced as a whole at start and on each reload).
//
// The rules of WMI and of a root daemon live here, once for every front end: a Name is unique
// within its class (across both origins: WBEM_E_ALREADY_EXISTS says where the other is); a
// filter's query must compile as an event query (its WBEM code and position) and its
// EventNamespace be root\cimv2; a consumer passes check_consumer; a binding names a filter and
// a consumer that exist; deleting a filter or a consumer deletes its bindings; what a file
// defines is read-only to the API (WBEM_E_READ_ONLY names the file), and nothing a file binds may
// be deleted from the store. A change is written to disk (atomically) before it counts: when the
// write fails, the change is refused and nothing changes. A corrupt store file is reported and
// nothing of it is loaded. Who may change (the admin group) is the provider's check.
// Thread safety: every method may be called concurrently; listeners run without the lock.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "lwmi/result.h"
#include "permanent/consumers.h"
#include "permanent/model.h"

namespace lwmi::permanent {

class Store {
 public:
  /// `path`: the store file ("" keeps it in memory only, for tests and embedded use).
  Store(std::string path, ConsumerSettings settings);

  /// Loads the store file (a missing one is empty). On error nothing is loaded, the store is
  /// empty and refuses every change (which would overwrite what it could not read) until a
  /// load succeeds: the error names the file and what is wrong.
  Result<void> load();
  /// Replaces what subscriptions.d defines. Checked with everything else first: on error (a
  /// duplicate, a binding to nothing, a bad query …, naming the file:line:col) nothing changes.
  Result<void> set_files(Definitions files);

  Result<void> create(EventFilter filter);
  Result<void> create(Consumer consumer);
  Result<void> create(Binding binding);
  /// Deletes a filter and its bindings. WBEM_E_NOT_FOUND, WBEM_E_READ_ONLY (a file's, or bound by
  /// a file's binding).
  Result<void> delete_filter(const std::string& name);
  Result<void> delete_consumer(const ConsumerRef& ref);
  Result<void> delete_binding(const std::string& filter, const ConsumerRef& consumer);

  /// Everything, both origins (files first, then the store, each in definition order).
  Definitions all() const;
  /// Bumped by every change; listeners run after each.
  uint64_t generation() const;
  void on_change(std::function<void()> listener);

 private:
  Result<void> check_filter(const EventFilter& f) const;
  Result<void> check_all(const Definitions& files, const Definitions& stored) const;
  /// With mu_ held: writes `next` as the store file, then makes it the store.
  Result<void> commit_locked(Definitions next) REQUIRES(mu_);
  void changed();

  std::string path_;
  ConsumerSettings settings_;
  mutable base::Mutex mu_;
  Definitions files_ GUARDED_BY(mu_);
  Definitions stored_ GUARDED_BY(mu_);
  uint64_t generation_ GUARDED_BY(mu_) = 0;
  std::optional<Error> broken_ GUARDED_BY(mu_);  ///< why the store file could not be loaded
  std::vector<std::function<void()>> listeners_;
};

}  // namespace lwmi::permanent
