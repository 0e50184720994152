// wsman/operations.h — WS-Management operations over the CIM service.
//
// Maps a decoded Request, with the caller it came from, onto CimService: Identify, Get (by
// selectors), Enumerate/Pull/Release (a class, or `*` with a WQL filter; optimized enumeration,
// MaxElements, EnumerateObjectAndEPR), Invoke of every Win32_Process method, Delete (=
// Terminate), Create (CreateInstance of a served class; the body's element must be the resource
// URI's class, in its namespace; answered with the new instance's EPR). Get, Invoke and Delete
// check their selectors against the keys the schema declares for the class (every key required;
// CreationDate also accepted where the class has it; faults w:InvalidSelectors with a FaultDetail
// saying which way they are wrong). Both resource-URI families are accepted
// (…/wsman/1/wmi/root/<cimv2|subscription>/<Class> and …/wscim/1/cim-schema/2/<Class> with a
// __cimnamespace selector). Errors become SOAP faults with the WBEM status in the detail.
// Subscribe/Pull/Renew/Unsubscribe go to Eventing. Enumeration contexts belong to the caller who
// opened them (Caller::Owner: uid and pid namespace, as subscriptions), are bounded per user and
// expire when idle; a Pull by a caller who no longer holds a privilege enabled at Enumerate ends
// the context (WBEM_E_ACCESS_DENIED). Thread safety: handle() may be called concurrently.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/mutex.h"
#include "service/cim_service.h"
#include "wsman/eventing.h"
#include "wsman/message.h"

namespace lwmi::wsman {

struct OperationLimits {
  size_t max_enumerations_per_user = 64;
  std::chrono::seconds enumeration_idle{600};
  uint32_t max_elements = 10000;  ///< cap on a client's MaxElements
};

class Operations {
 public:
  /// `eventing` (may be null: Subscribe is then ActionNotSupported) must outlive this.
  Operations(service::CimService& service, OperationLimits limits = {},
             Eventing* eventing = nullptr);

  /// Handles one request for `caller` (already authenticated; local callers may enable held
  /// privileges with the EnablePrivilege option). A Pull on an event subscription waits here.
  Response handle(const Request& request, security::Caller caller);
  /// As handle(), but a Pull on an event subscription returns at once and `done` runs when
  /// its answer is ready (from another thread); anything else runs `done` before returning.
  void handle_async(const Request& request, security::Caller caller,
                    std::function<void(Response)> done);

  /// Open enumeration contexts (for tests and status).
  size_t open_enumerations() const;

 private:
  struct Enumeration {
    std::unique_ptr<InstanceStream> stream;
    security::Caller opener;  ///< its owner, and the rights its stream reads with
    std::chrono::steady_clock::time_point last_used;
    bool with_object = true;
    bool with_epr = false;
    std::string resource_uri;
    std::optional<Instance> lookahead;
  };
  Response enumerate(const Request& r, const security::Caller& c);
  Response pull(const Request& r, const security::Caller& c);
  Response release(const Request& r, const security::Caller& c);
  Response get(const Request& r, const security::Caller& c);
  Response invoke(const Request& r, const security::Caller& c);
  Response remove(const Request& r, const security::Caller& c);
  Response create(const Request& r, const security::Caller& c);
  // Fills items from e.stream up to max items and max_bytes of envelope; sets end_of_sequence.
  void fill(Enumeration& e, uint32_t max, Response* out, std::optional<uint64_t> max_bytes);
  void expire_locked() REQUIRES(mu_);

  service::CimService& service_;
  OperationLimits limits_;
  Eventing* eventing_;
  mutable base::Mutex mu_;
  std::map<std::string, std::shared_ptr<Enumeration>> enumerations_ GUARDED_BY(mu_);
};

/// A fault for a WBEM error (subcode chosen from the status).
Fault fault_for(const Error& error);

/// The class and namespace a resource URI names ("*" for the wildcard).
struct Resource {
  std::string ns = "root\\cimv2";
  std::string cls;
};
/// Resolves the request's resource URI (either family): the namespaces `service` has (without
/// one, root/cimv2 only: events are there).
Result<Resource> resolve(const Request& r, const service::CimService* service = nullptr);

}  // namespace lwmi::wsman
