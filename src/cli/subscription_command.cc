// cli/subscription_command.cc — filter + consumer + binding as one thing to add, list, show and
// remove, over the public Services API.
#include "cli/subscription_command.h"

#include <vector>

#include "base/strings.h"
#include "lwmi/object_path.h"

namespace lwmi::cli {
namespace {

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string filter_path(std::string_view name) {
  return "__EventFilter.Name=" + quoted(name);
}

std::string consumer_path(std::string_view cls, std::string_view name) {
  return std::string(cls) + ".Name=" + quoted(name);
}

Result<std::vector<Instance>> query_all(Services& svc, const std::string& wql) {
  auto s = svc.exec_query(wql);
  if (!s.ok()) return s.take_error();
  std::vector<Instance> out;
  Instance inst;
  while ((*s)->next(&inst)) out.push_back(std::move(inst));
  if ((*s)->error()) return *(*s)->error();
  return out;
}

std::string text(const Instance& i, std::string_view prop) {
  auto v = i.get(prop);
  return v && !v->is_null() ? v->to_text() : std::string();
}

// The Name key inside a reference text such as LogFileEventConsumer.Name="x".
std::string name_in(const std::string& ref) {
  auto p = ObjectPath::parse(ref);
  if (!p.ok()) return ref;
  const KeyBinding* k = p->key("Name");
  return k ? k->value.to_text() : ref;
}

Result<void> add(Services& svc, const SubscriptionArgs& a, std::ostream& out) {
  if (a.query.empty())
    return Error{WbemStatus::kInvalidParameter, "subscription add needs --query \"SELECT …\""};
  auto cls = consumer_class_for(a);
  if (!cls.ok()) return cls.take_error();
  Parameters consumer = {{"Name", Value::string(a.name)}};
  if (a.terminate) {
    consumer.emplace_back("Reason", Value::uint32(*a.terminate));
  } else if (!a.log.empty()) {
    consumer.emplace_back("Filename", Value::string(a.log));
    consumer.emplace_back(
        "Text", Value::string(a.text.empty() ? "%__CLASS% %TargetInstance.Name%" : a.text));
  } else if (!a.run.empty()) {
    consumer.emplace_back("ExecutablePath", Value::string(a.run));
    if (!a.args.empty()) consumer.emplace_back("CommandLineTemplate", Value::string(a.args));
    if (a.kill_timeout) consumer.emplace_back("KillTimeout", Value::uint32(a.kill_timeout));
  } else {
    consumer.emplace_back("SourceName", Value::string("lwmi"));
    consumer.emplace_back("InsertionStringTemplates",
                          Value::array(CimType::kString, {Value::string(*a.journal)}));
  }
  const std::string fpath = filter_path(a.name);
  const std::string cpath = consumer_path(*cls, a.name);
  auto f = svc.create_instance("__EventFilter", {{"Name", Value::string(a.name)},
                                                 {"Query", Value::string(a.query)},
                                                 {"QueryLanguage", Value::string("WQL")}});
  if (!f.ok()) return f.take_error();
  auto c = svc.create_instance(*cls, consumer);
  if (!c.ok()) {
    (void)svc.delete_instance(fpath);
    return c.take_error();
  }
  auto b = svc.create_instance(
      "__FilterToConsumerBinding",
      {{"Filter", Value::reference(fpath)}, {"Consumer", Value::reference(cpath)}});
  if (!b.ok()) {
    (void)svc.delete_instance(cpath);
    (void)svc.delete_instance(fpath);
    return b.take_error();
  }
  out << "added " << a.name << ": " << fpath << " -> " << cpath << '\n';
  return Result<void>();
}

Result<void> list(Services& svc, const OutputOptions& oo, std::ostream& out,
                  const std::string& only) {
  auto states = query_all(svc, "SELECT * FROM LWMI_SubscriptionState");
  if (!states.ok()) return states.take_error();
  auto bindings = query_all(svc, "SELECT * FROM __FilterToConsumerBinding");
  if (!bindings.ok()) return bindings.take_error();
  auto f = make_formatter(oo, out);
  f->begin({"Filter", "Consumer", "State", "Fired", "Failures", "LastFired", "Guard", "Origin",
            "LastFailure"});
  size_t shown = 0;
  for (const auto& s : *states) {
    if (!only.empty() && !base::iequals(name_in(text(s, "Filter")), only)) continue;
    f->add(s);
    ++shown;
  }
  f->end();
  if (!only.empty() && shown == 0) {
    // A filter may exist with no binding yet: say so rather than "not found".
    auto filt = svc.get_object(filter_path(only), {});
    if (!filt.ok()) return filt.take_error();
    out << only << ": no consumer is bound to this filter\n";
  }
  if (only.empty() && states->empty()) out << "No instance(s) available.\n";
  return Result<void>();
}

Result<void> show(Services& svc, const SubscriptionArgs& a, const OutputOptions& oo,
                  std::ostream& out) {
  auto filt = svc.get_object(filter_path(a.name), {});
  if (!filt.ok()) return filt.take_error();
  OutputOptions lo = oo;
  lo.format = Format::kList;
  auto f = make_formatter(lo, out);
  f->begin({});
  f->add(*filt);
  auto bindings = query_all(svc, "SELECT * FROM __FilterToConsumerBinding");
  if (!bindings.ok()) return bindings.take_error();
  for (const auto& b : *bindings) {
    if (!base::iequals(name_in(text(b, "Filter")), a.name)) continue;
    auto c = svc.get_object(text(b, "Consumer"), {});
    if (c.ok()) f->add(*c);
  }
  f->end();
  return list(svc, oo, out, a.name);
}

Result<void> remove(Services& svc, const SubscriptionArgs& a, std::ostream& out) {
  auto bindings = query_all(svc, "SELECT * FROM __FilterToConsumerBinding");
  if (!bindings.ok()) return bindings.take_error();
  std::vector<std::string> consumers;  // bound to this filter and named like it
  for (const auto& b : *bindings) {
    const std::string c = text(b, "Consumer");
    if (base::iequals(name_in(text(b, "Filter")), a.name) && base::iequals(name_in(c), a.name))
      consumers.push_back(c);
  }
  auto r = svc.delete_instance(filter_path(a.name));
  if (!r.ok()) return r.take_error();
  out << "removed " << filter_path(a.name) << " and its bindings\n";
  // Its consumers, unless another filter still uses them.
  auto left = query_all(svc, "SELECT * FROM __FilterToConsumerBinding");
  for (const auto& c : consumers) {
    bool used = false;
    if (left.ok())
      for (const auto& b : *left) used |= base::iequals(text(b, "Consumer"), c);
    if (used) continue;
    if (svc.delete_instance(c).ok()) out << "removed " << c << '\n';
  }
  return Result<void>();
}

}  // namespace

Result<std::string> consumer_class_for(const SubscriptionArgs& a) {
  const int given = (a.terminate ? 1 : 0) + (a.log.empty() ? 0 : 1) + (a.run.empty() ? 0 : 1) +
                    (a.journal ? 1 : 0);
  if (given != 1)
    return Error{WbemStatus::kInvalidParameter,
                 "subscription add needs exactly one consumer: --terminate REASON, --log FILE, "
                 "--run PROGRAM or --journal MESSAGE"};
  if (a.terminate) return std::string("LWMI_TerminateProcessEventConsumer");
  if (!a.log.empty()) return std::string("LogFileEventConsumer");
  if (!a.run.empty()) return std::string("CommandLineEventConsumer");
  return std::string("LWMI_JournalEventConsumer");
}

Result<void> run_subscription(Services& svc, const SubscriptionArgs& a, const OutputOptions& oo,
                              std::ostream& out) {
  if (a.action == "list") return list(svc, oo, out, "");
  if (a.name.empty())
    return Error{WbemStatus::kInvalidParameter, "subscription " + a.action + " needs a NAME"};
  if (a.action == "add") return add(svc, a, out);
  if (a.action == "show") return show(svc, a, oo, out);
  if (a.action == "remove") return remove(svc, a, out);
  return Error{WbemStatus::kInvalidParameter,
               "unknown subscription action '" + a.action + "' (add, list, show, remove)"};
}

}  // namespace lwmi::cli
