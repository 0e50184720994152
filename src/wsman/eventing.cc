#include "wsman/eventing.h"

#include <cmath>
#include <future>

#include "base/strings.h"
#include "wsman/envelope.h"
#include "wsman/operations.h"

namespace lwmi::wsman {
namespace {

constexpr const char* kEventingAction = "http://schemas.xmlsoap.org/ws/2004/08/eventing/";
constexpr const char* kEnumAction = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/";

std::optional<event::Millis> millis(std::optional<double> seconds) {
  if (!seconds || !std::isfinite(*seconds) || *seconds < 0) return std::nullopt;
  double ms = std::min(*seconds * 1000.0, 1e15);
  return event::Millis(static_cast<int64_t>(ms));
}

/// A subscription error on Pull/Renew/Unsubscribe as a fault.
Fault subscription_fault(const Error& e, bool pull) {
  switch (e.code) {
    case WbemStatus::kNotFound:
    case WbemStatus::kCallCancelled:
      if (pull) {
        Fault f =
            make_fault("n:InvalidEnumerationContext", e.message, WbemStatus::kInvalidParameter);
        f.action = std::string(kEnumAction) + "fault";
        return f;
      }
      return make_fault("w:InvalidParameter", e.message, WbemStatus::kNotFound);
    default:
      return fault_for(e);
  }
}

}  // namespace

Response Eventing::subscribe(const Request& r, const security::Caller& c) {
  auto res = resolve(r);
  if (!res.ok()) return fault_response(r, fault_for(res.error()));
  const std::string push = "http://schemas.xmlsoap.org/ws/2004/08/eventing/DeliveryModes/Push";
  if (r.delivery_mode != kPullDeliveryMode) {
    std::string mode = r.delivery_mode.empty() ? push + " (the default)" : r.delivery_mode;
    return fault_response(
        r, make_fault("e:DeliveryModeRequestedUnavailable",
                      "delivery mode " + mode + " is not supported: use " + kPullDeliveryMode,
                      WbemStatus::kNotSupported));
  }
  if (!r.filter_dialect.empty() && r.filter_dialect != ns::kWqlDialect)
    return fault_response(r, make_fault("w:FilterDialectRequestedUnavailable",
                                        "filter dialect '" + r.filter_dialect +
                                            "' is not supported: use " + ns::kWqlDialect,
                                        WbemStatus::kInvalidQueryType));
  if (r.filter.empty())
    return fault_response(
        r, make_fault("w:CannotProcessFilter",
                      "Subscribe needs a WQL event query as its filter, e.g. SELECT * FROM "
                      "__InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process'",
                      WbemStatus::kInvalidQuery));
  NotificationOptions options;
  for (const auto& [name, value] : r.options) {
    const bool on = base::iequals(base::trim(value), "true");
    if (base::iequals(name, "lwmi_Guard")) options.guard = on;
    if (base::iequals(name, "lwmi_GuardOwnSession")) options.guard_own_session = on;
  }
  auto granted = manager_.subscribe(c, r.filter, millis(r.expires_s), millis(r.heartbeats_s),
                                    r.local_connection, options);
  if (!granted.ok()) return fault_response(r, fault_for(granted.error()));
  Response out;
  out.action = std::string(kEventingAction) + "SubscribeResponse";
  out.relates_to = r.message_id;
  out.resource_uri = r.resource_uri;
  out.subscription_id = granted->id;
  out.context = granted->id;
  out.expires_s = static_cast<double>(granted->expires.count()) / 1000.0;
  if (granted->guard.requested) out.guard = granted->guard;
  return out;
}

Response Eventing::unsubscribe(const Request& r, const security::Caller& c) {
  if (r.identifier.empty())
    return fault_response(r,
                          make_fault("w:InvalidParameter",
                                     "Unsubscribe needs the subscription's wse:Identifier header",
                                     WbemStatus::kInvalidParameter));
  auto done = manager_.unsubscribe(r.identifier, c);
  if (!done.ok()) return fault_response(r, subscription_fault(done.error(), false));
  Response out;
  out.action = std::string(kEventingAction) + "UnsubscribeResponse";
  out.relates_to = r.message_id;
  return out;
}

Response Eventing::renew(const Request& r, const security::Caller& c) {
  if (r.identifier.empty())
    return fault_response(
        r, make_fault("w:InvalidParameter", "Renew needs the subscription's wse:Identifier header",
                      WbemStatus::kInvalidParameter));
  auto lease = manager_.renew(r.identifier, c, millis(r.expires_s));
  if (!lease.ok()) {
    Fault f = subscription_fault(lease.error(), false);
    if (lease.error().code == WbemStatus::kNotFound) f.subcode = "e:UnableToRenew";
    return fault_response(r, f);
  }
  Response out;
  out.action = std::string(kEventingAction) + "RenewResponse";
  out.relates_to = r.message_id;
  out.is_renew = true;
  out.expires_s = static_cast<double>(lease->count()) / 1000.0;
  return out;
}

bool Eventing::is_subscription(const std::string& context) const {
  return manager_.exists(context);
}

void Eventing::pull(const Request& r, const security::Caller& c,
                    std::function<void(Response)> done) {
  // OperationTimeout (WS-Man) or wsen:MaxTime (WS-Enumeration), the shorter when both come.
  double wait_s = kDefaultPullTimeoutS;
  if (r.operation_timeout_s || r.max_time_s)
    wait_s = std::min(r.operation_timeout_s.value_or(1e9), r.max_time_s.value_or(1e9));
  auto wait = millis(wait_s).value_or(event::Millis(0));
  uint32_t max = r.max_elements.value_or(1);
  std::string context = r.context, message_id = r.message_id, uri = r.resource_uri;
  std::optional<uint64_t> max_bytes = r.max_envelope_size;
  manager_.pull(r.context, c, max, wait,
                [this, done = std::move(done), context, message_id, uri,
                 max_bytes](Result<event::PullResult> got) {
                  Request req;
                  req.message_id = message_id;
                  if (!got.ok())
                    return done(fault_response(req, subscription_fault(got.error(), true)));
                  if (got->timed_out) {
                    Fault f =
                        make_fault("w:TimedOut",
                                   "no event arrived within the Pull's OperationTimeout; Pull "
                                   "again",
                                   WbemStatus::kTimedOut);
                    f.code = "s:Receiver";
                    return done(fault_response(req, f));
                  }
                  Response out;
                  out.action = got->heartbeat ? std::string(kHeartbeatAction)
                                              : std::string(kEnumAction) + "PullResponse";
                  out.relates_to = message_id;
                  out.resource_uri = uri;
                  out.is_pull = true;
                  out.context = context;
                  out.lost_events = got->lost;
                  for (auto& ev : got->events)
                    out.items.push_back(Item{std::move(ev), true, false});
                  if (max_bytes) {
                    if (auto f = fit(out, *max_bytes)) return done(fault_response(req, *f));
                  }
                  done(std::move(out));
                });
}

std::optional<Fault> Eventing::fit(Response& out, uint64_t max_bytes) {
  if (out.items.empty()) return std::nullopt;
  // The response grows event by event, each measured with the codec; what does not fit goes
  // back to the front of the subscription's queue for the next Pull.
  Response empty = out;
  empty.items.clear();
  size_t base = encode(empty).size(), used = base, keep = 0;
  for (; keep < out.items.size(); ++keep) {
    Response one = empty;
    one.items.push_back(out.items[keep]);
    size_t alone = encode(one).size();
    size_t add = alone > base ? alone - base : 0;
    if (used + add > max_bytes) break;
    used += add;
  }
  if (keep == out.items.size()) return std::nullopt;
  std::vector<Instance> rest;
  for (size_t i = keep; i < out.items.size(); ++i) rest.push_back(std::move(out.items[i].instance));
  out.items.resize(keep);
  manager_.give_back(out.context, std::move(rest));
  if (keep > 0) return std::nullopt;
  return make_fault("w:EncodingLimit",
                    "one event needs more than MaxEnvelopeSize " + std::to_string(max_bytes) +
                        " bytes; it is kept for a Pull with a larger MaxEnvelopeSize",
                    WbemStatus::kQuotaViolation);
}

Response Eventing::pull_sync(const Request& r, const security::Caller& c) {
  std::promise<Response> promise;
  auto future = promise.get_future();
  pull(r, c, [&promise](Response resp) { promise.set_value(std::move(resp)); });
  return future.get();
}

}  // namespace lwmi::wsman
