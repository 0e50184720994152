#include "provider/event_source_provider.h"
#include "base/mutex.h"

#include <vector>

#include "base/budget.h"
#include "base/strings.h"
#include "cim/schema.h"

namespace lwmi::provider {

EventSourceStats& EventSourceStats::global() {
  static EventSourceStats stats;
  return stats;
}

EventSourceStats::Kind EventSourceStats::kind_of(std::string_view source_name) {
  if (source_name == "bpf") return Kind::kBpf;
  if (source_name == "proc-poll") return Kind::kProcPoll;
  return Kind::kNetlink;
}

void EventSourceStats::set_unavailable(Kind k, std::string why) {
  base::MutexLock lock(mu_);
  unavailable_[static_cast<int>(k)] = std::move(why);
}

std::string EventSourceStats::unavailable(Kind k) const {
  base::MutexLock lock(mu_);
  return unavailable_[static_cast<int>(k)];
}

EventSourceProvider::EventSourceProvider()
    : cls_(cim::Schema::builtin().find("LWMI_EventSource")) {}

Instance EventSourceProvider::snapshot(EventSourceStats::Kind kind) const {
  using Kind = EventSourceStats::Kind;
  auto& stats = EventSourceStats::global();
  const auto& c = stats.of(kind);
  Instance inst(cls_);
  inst.set("Source", Value::string(EventSourceStats::name(kind)));
  inst.set("Active", Value::uint32(static_cast<uint32_t>(c.active.load())));
  inst.set("Subscriptions", Value::uint64(c.subscriptions.load()));
  inst.set("EventsReceived", Value::uint64(c.received.load()));
  inst.set("EventsDelivered", Value::uint64(c.delivered.load()));
  inst.set("Overruns", Value::uint64(c.overruns.load()));
  inst.set("SequenceGaps", Value::uint64(c.gaps.load()));
  inst.set("Rescans", Value::uint64(c.rescans.load()));
  inst.set("UncapturedProperties", Value::uint64(c.uncaptured.load()));
  inst.set("Polls", Value::uint64(c.polls.load()));
  inst.set("SharedPolls", Value::uint64(c.shared_polls.load()));
  std::string why = stats.unavailable(kind);
  inst.set("Unavailable", why.empty() ? Value::null(CimType::kString) : Value::string(why));
  // The sources lwmi prefers to this one, in order, and why each was not used.
  std::string fallback;
  for (Kind better : {Kind::kBpf, Kind::kNetlink, Kind::kProcPoll}) {
    if (better == kind) break;
    if (std::string w = stats.unavailable(better); !w.empty())
      fallback +=
          (fallback.empty() ? "" : "; ") + std::string(EventSourceStats::name(better)) + ": " + w;
  }
  inst.set("FallbackReason",
           fallback.empty() ? Value::null(CimType::kString) : Value::string(fallback));
  ObjectPath id;
  id.class_name = cls_->name;
  id.keys.push_back({"Source", Value::string(EventSourceStats::name(kind))});
  inst.set_identity(std::move(id));
  return inst;
}

std::unique_ptr<InstanceStream> EventSourceProvider::enumerate(const security::Caller&,
                                                               const Request& request) {
  std::vector<Instance> out;
  for (int k = 0; k < EventSourceStats::kKinds; ++k) {
    auto kind = static_cast<EventSourceStats::Kind>(k);
    Instance inst = snapshot(kind);
    if (request.filter && !request.filter([&](size_t i) { return inst.at(i); })) continue;
    out.push_back(std::move(inst));
  }
  // A filter cut short by the request's spent budget may have said false wrongly.
  if (base::Budget::spent())
    return std::make_unique<VectorStream>(std::vector<Instance>{},
                                          base::Budget::current()->error());
  return std::make_unique<VectorStream>(std::move(out));
}

Result<Instance> EventSourceProvider::get(const security::Caller&, const ObjectPath& path,
                                          const Request&) {
  const Value* key = nullptr;
  for (const auto& [n, v] : path.keys)
    if (base::iequals(n, "Source")) key = &v;
  if (!key || path.keys.size() != 1)
    return Error{WbemStatus::kInvalidObjectPath,
                 "LWMI_EventSource is keyed by Source, e.g. LWMI_EventSource.Source=\"netlink\""};
  for (int k = 0; k < EventSourceStats::kKinds; ++k) {
    auto kind = static_cast<EventSourceStats::Kind>(k);
    if (base::iequals(key->to_text(), EventSourceStats::name(kind))) return snapshot(kind);
  }
  return Error{WbemStatus::kNotFound, "no event source '" + key->to_text() +
                                          "' (lwmi's sources: bpf, netlink, proc-poll)"};
}

}  // namespace lwmi::provider
