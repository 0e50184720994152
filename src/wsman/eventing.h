// wsman/eventing.h — WS-Eventing over WS-Management: Subscribe (Pull delivery mode, a WQL event
// query as the filter), Pull on the subscription's enumeration context, Renew, Unsubscribe.
//
// SubscribeResponse: a SubscriptionManager EPR whose wse:Identifier is the subscription's id,
// the granted wse:Expires, and the wsen:EnumerationContext to Pull with (the same id). A Pull
// answers with the queued events (up to MaxElements) as a PullResponse whose items are the event
// instances (__InstanceCreationEvent with TargetInstance embedded); with nothing to deliver
// within OperationTimeout a w:TimedOut fault. MaxEnvelopeSize is honoured: events that do not
// fit wait for the next Pull (w:EncodingLimit when not even one fits). With nothing within the
// requested heartbeat interval a PullResponse with the wsman Heartbeat action and no items.
// A dropped-events overflow is a fault carrying WBEM_E_QUEUE_OVERFLOW. PullResponses carry the
// stream's count of lost kernel events (rescanned, not missed) in an lwmi header, LostEvents.
// Errors are faults with the WBEM status (a bad query: w:CannotProcessFilter, its column in the
// reason). Thread safety: as SubscriptionManager.
#pragma once

#include <functional>

#include "event/subscription_manager.h"
#include "wsman/message.h"

namespace lwmi::wsman {

inline constexpr const char* kPullDeliveryMode = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull";
inline constexpr const char* kHeartbeatAction =
    "http://schemas.dmtf.org/wbem/wsman/1/wsman/Heartbeat";
/// How long a Pull waits when it names neither OperationTimeout nor wsen:MaxTime.
inline constexpr double kDefaultPullTimeoutS = 60;

class Eventing {
 public:
  explicit Eventing(event::SubscriptionManager& manager) : manager_(manager) {}

  Response subscribe(const Request& r, const security::Caller& c);
  Response unsubscribe(const Request& r, const security::Caller& c);
  Response renew(const Request& r, const security::Caller& c);
  /// True when a Pull's context names an event subscription (rather than an enumeration).
  bool is_subscription(const std::string& context) const;
  /// A Pull on a subscription: `done` runs once with the response, maybe later, from another
  /// thread (no thread waits meanwhile).
  void pull(const Request& r, const security::Caller& c, std::function<void(Response)> done);
  /// A Pull on a subscription, waiting on the calling thread.
  Response pull_sync(const Request& r, const security::Caller& c);

  event::SubscriptionManager& manager() { return manager_; }

 private:
  /// Keeps the events of `out` that fit in `max_bytes` (MaxEnvelopeSize), gives the rest back
  /// to the subscription; a fault when not even the first fits.
  std::optional<Fault> fit(Response& out, uint64_t max_bytes);

  event::SubscriptionManager& manager_;
};

}  // namespace lwmi::wsman
