#include "event/terminate_target.h"

#include "event/event_query.h"

namespace lwmi::event {
namespace {

constexpr const char* kUse =
    "use it with __InstanceCreationEvent, __InstanceModificationEvent or Win32_ProcessStartTrace";

std::string text_of(const std::optional<Value>& v) {
  return v && !v->is_null() ? v->to_text() : std::string("NULL");
}

}  // namespace

std::string terminate_refusal(std::string_view wql) {
  auto q = event::compile_event_query(wql);
  if (!q.ok()) return "";
  const std::string from = q->event_class ? q->event_class->name : std::string("the query");
  if (q->group_within)
    return "--terminate cannot act on GROUP WITHIN: each __AggregateEvent stands for several "
           "events (remove GROUP WITHIN, or watch without --terminate)";
  std::string ended;  // the event class(es) the query delivers for processes that have ended
  if (q->deletion) ended = "__InstanceDeletionEvent";
  if (q->stop_trace)
    ended += (ended.empty() ? "" : " and ") + std::string("Win32_ProcessStopTrace");
  if (ended.empty()) return "";
  const bool only = ended == from;
  return "--terminate cannot act on " + from + ": " +
         (only ? std::string("it reports") : "it also delivers " + ended + ", which reports") +
         " processes that have already ended; " + kUse;
}

Result<TerminateTarget> terminate_target(const Instance& ev) {
  const ClassDecl& cls = ev.cls();
  TerminateTarget out;
  if (cls.is_a("__InstanceCreationEvent") || cls.is_a("__InstanceModificationEvent")) {
    auto t = ev.get("TargetInstance");
    if (!t || t->is_null() || t->type() != CimType::kObject || !t->as_object())
      return Error{WbemStatus::kInvalidParameter,
                   "the " + cls.name + " carries no TargetInstance: nothing to terminate"};
    const Instance& target = *t->as_object();
    out.pid = text_of(target.get("ProcessId"));
    out.name = text_of(target.get("Name"));
    const ObjectPath& id = target.identity();
    if (!id.key("Handle"))
      return Error{WbemStatus::kInvalidParameter,
                   "the " + cls.name + "'s TargetInstance has no Handle: nothing to terminate"};
    if (out.pid == "NULL") out.pid = id.key("Handle")->value.to_text();
    if (!id.key("CreationDate"))
      return Error{WbemStatus::kNotFound,
                   "process " + out.pid +
                       ": not terminated: the event carries no CreationDate for it, and its pid "
                       "alone could name another process"};
    out.path = id.to_string();
    return out;
  }
  if (cls.is_a("Win32_ProcessStartTrace")) {
    auto pid = ev.get("ProcessID");
    if (!pid || pid->is_null())
      return Error{WbemStatus::kInvalidParameter,
                   "the Win32_ProcessStartTrace carries no ProcessID: nothing to terminate"};
    out.pid = pid->to_text();
    out.name = text_of(ev.get("ProcessName"));
    auto start = ev.get("ProcessCreationDate");
    if (!start || start->is_null())
      return Error{WbemStatus::kNotFound,
                   "process " + out.pid +
                       ": not terminated: the event carries no ProcessCreationDate for it (it "
                       "ended before it could be read), and its pid alone could name another "
                       "process"};
    ObjectPath p;
    p.class_name = "Win32_Process";
    p.keys.push_back({"Handle", Value::string(out.pid)});
    p.keys.push_back({"CreationDate", Value::string(start->to_text())});
    out.path = p.to_string();
    return out;
  }
  return Error{WbemStatus::kInvalidParameter,
               "--terminate does not act on " + cls.name + " events; " + kUse};
}

std::string terminate_outcome(const TerminateTarget& target, const MethodResult& result) {
  const std::string who = "process " + target.pid + " (" + target.name + ")";
  if (result.return_value == 0) return "terminated " + who + ": ReturnValue 0";
  std::string out = "did not end " + who + ": ReturnValue " + std::to_string(result.return_value) +
                    " (" + return_value_text(result.return_value) + ")";
  std::string why;
  for (const auto& n : result.notes) why += (why.empty() ? "" : "; ") + n;
  if (why.empty()) {
    switch (result.return_value) {
      case 2:
        why =
            "it is another user's: ending it needs SeDebugPrivilege held and enabled "
            "(--enable-privilege SeDebugPrivilege, as root or a member of the admin group)";
        break;
      case 3:
        why =
            "it is protected (PID 1, a kernel thread, lwmi itself, or [security] "
            "protected_processes)";
        break;
      case 9:
        why = "it had ended already";
        break;
      default:
        break;
    }
  }
  return why.empty() ? out : out + ": " + why;
}

}  // namespace lwmi::event
