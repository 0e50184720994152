// permanent/model.cc — the classes' properties, one table per class, used by every front end.
#include "permanent/model.h"

#include <array>
#include <functional>

#include "base/strings.h"
#include "lwmi/object_path.h"

namespace lwmi::permanent {
namespace {

constexpr std::array<std::string_view, 4> kConsumerClasses = {
    "CommandLineEventConsumer", "LogFileEventConsumer", "LWMI_JournalEventConsumer",
    "LWMI_TerminateProcessEventConsumer"};

Error invalid(WbemStatus code, std::string message) {
  return Error{code, std::move(message)};
}

// One property of a definition `T`: its CIM type, whether it must be set, and how to read and
// write it. Every class's table lists its properties in the order instances show them.
template <class T>
struct Field {
  std::string_view name;
  CimType type;
  bool array = false;
  bool required = false;
  std::function<Value(const T&)> get;
  std::function<void(T&, const Value&)> set;
};

template <class T>
Field<T> text(std::string_view name, std::string T::*member, bool required = false) {
  return Field<T>{name,
                  CimType::kString,
                  false,
                  required,
                  [member](const T& t) { return Value::string(t.*member); },
                  [member](T& t, const Value& v) { t.*member = v.as_string(); }};
}

template <class T, class N>
Field<T> number(std::string_view name, CimType type, N T::*member) {
  return Field<T>{name,
                  type,
                  false,
                  false,
                  [member, type](const T& t) {
                    return *Value::integer_unsigned(type, static_cast<uint64_t>(t.*member));
                  },
                  [member](T& t, const Value& v) { t.*member = static_cast<N>(v.as_u64()); }};
}

const std::vector<Field<EventFilter>>& filter_fields() {
  static const std::vector<Field<EventFilter>> f = {
      text("Name", &EventFilter::name, true),
      text("Query", &EventFilter::query, true),
      text("QueryLanguage", &EventFilter::query_language),
      text("EventNamespace", &EventFilter::event_namespace),
      text("CreatorName", &EventFilter::creator),
  };
  return f;
}

const std::vector<Field<CommandLineConsumer>>& command_fields() {
  static const std::vector<Field<CommandLineConsumer>> f = {
      text("ExecutablePath", &CommandLineConsumer::executable_path, true),
      text("CommandLineTemplate", &CommandLineConsumer::command_line_template),
      text("WorkingDirectory", &CommandLineConsumer::working_directory),
      number("KillTimeout", CimType::kUint32, &CommandLineConsumer::kill_timeout),
  };
  return f;
}

const std::vector<Field<LogFileConsumer>>& log_fields() {
  static const std::vector<Field<LogFileConsumer>> f = {
      text("Filename", &LogFileConsumer::filename, true),
      text("Text", &LogFileConsumer::text),
      number("MaximumFileSize", CimType::kUint64, &LogFileConsumer::maximum_file_size),
      Field<LogFileConsumer>{
          "IsUnicode", CimType::kBoolean, false, false,
          [](const LogFileConsumer& c) { return Value::boolean(c.is_unicode); },
          [](LogFileConsumer& c, const Value& v) { c.is_unicode = v.as_bool(); }},
  };
  return f;
}

const std::vector<Field<JournalConsumer>>& journal_fields() {
  static const std::vector<Field<JournalConsumer>> f = {
      text("SourceName", &JournalConsumer::source_name),
      number("EventID", CimType::kUint32, &JournalConsumer::event_id),
      number("EventType", CimType::kUint32, &JournalConsumer::event_type),
      Field<JournalConsumer>{"InsertionStringTemplates", CimType::kString, true, false,
                             [](const JournalConsumer& c) {
                               std::vector<Value> v;
                               for (const auto& s : c.insertion_string_templates)
                                 v.push_back(Value::string(s));
                               return Value::array(CimType::kString, std::move(v));
                             },
                             [](JournalConsumer& c, const Value& v) {
                               c.insertion_string_templates.clear();
                               for (const auto& e : v.elements())
                                 if (!e.is_null())
                                   c.insertion_string_templates.push_back(e.as_string());
                             }},
  };
  return f;
}

const std::vector<Field<TerminateConsumer>>& terminate_fields() {
  static const std::vector<Field<TerminateConsumer>> f = {
      number("Reason", CimType::kUint32, &TerminateConsumer::reason),
  };
  return f;
}

// `v` as a value of the field's type, where it converts (a number given as text, a string given
// as a one-element array is not).
std::optional<Value> convert(const Value& v, CimType type, bool array) {
  if (v.is_array() != array) return std::nullopt;
  if (array) {
    std::vector<Value> out;
    for (const auto& e : v.elements()) {
      auto c = convert(e, type, false);
      if (!c) return std::nullopt;
      out.push_back(std::move(*c));
    }
    return Value::array(type, std::move(out));
  }
  if (v.type() == type) return v;
  if (type == CimType::kString && v.type() == CimType::kReference)
    return Value::string(v.as_string());
  if (is_integer(type)) {
    if (is_unsigned_integer(v.type())) return Value::integer_unsigned(type, v.as_u64());
    if (is_signed_integer(v.type())) {
      if (v.as_i64() < 0) return std::nullopt;
      return Value::integer_unsigned(type, static_cast<uint64_t>(v.as_i64()));
    }
    if (v.type() == CimType::kString) return Value::from_text(type, v.as_string());
    return std::nullopt;
  }
  if (type == CimType::kBoolean && v.type() == CimType::kString)
    return Value::from_text(type, v.as_string());
  return std::nullopt;
}

template <class T>
Properties read_fields(const std::vector<Field<T>>& fields, const T& t) {
  Properties out;
  for (const auto& f : fields) out.emplace_back(std::string(f.name), f.get(t));
  return out;
}

// Sets `name` on `t` if one of `fields` has it: true when found, else false; an error when the
// value does not convert or a required one is empty.
template <class T>
Result<bool> write_field(const std::vector<Field<T>>& fields, T& t, std::string_view cls,
                         std::string_view name, const Value& v) {
  for (const auto& f : fields) {
    if (!base::iequals(f.name, name)) continue;
    if (v.is_null()) return true;
    auto c = convert(v, f.type, f.array);
    if (!c)
      return invalid(WbemStatus::kTypeMismatch, std::string(cls) + "." + std::string(f.name) +
                                                    " must be " +
                                                    std::string(f.array ? "an array of " : "a ") +
                                                    std::string(cim_type_name(f.type)));
    f.set(t, *c);
    return true;
  }
  return false;
}

template <class T>
Result<void> check_required(const std::vector<Field<T>>& fields, const T& t, std::string_view cls) {
  for (const auto& f : fields) {
    if (!f.required) continue;
    const Value v = f.get(t);
    if (v.is_null() || (v.type() == CimType::kString && v.as_string().empty()))
      return invalid(WbemStatus::kInvalidParameter,
                     std::string(cls) + "." + std::string(f.name) + " is required");
  }
  return Result<void>();
}

Error unknown_property(std::string_view cls, std::string_view name) {
  return invalid(WbemStatus::kInvalidProperty,
                 "class " + std::string(cls) + " has no property '" + std::string(name) + "'");
}

template <class Spec>
Result<void> fill_spec(const std::vector<Field<Spec>>& fields, Consumer& c, std::string_view cls,
                       const Properties& props) {
  Spec spec;
  for (const auto& [name, v] : props) {
    if (base::iequals(name, "Name")) {
      if (!v.is_null()) {
        if (v.type() != CimType::kString)
          return invalid(WbemStatus::kTypeMismatch, std::string(cls) + ".Name must be a string");
        c.name = v.as_string();
      }
      continue;
    }
    if (base::iequals(name, "CreatorName")) {
      if (!v.is_null() && v.type() == CimType::kString) c.creator = v.as_string();
      continue;
    }
    auto found = write_field(fields, spec, cls, name, v);
    if (!found.ok()) return found.take_error();
    if (!*found) return unknown_property(cls, name);
  }
  if (c.name.empty())
    return invalid(WbemStatus::kInvalidParameter, std::string(cls) + ".Name is required");
  if (auto r = check_required(fields, spec, cls); !r.ok()) return r;
  c.spec = std::move(spec);
  return Result<void>();
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

}  // namespace

std::string Origin::describe() const {
  if (!from_file()) return "the store";
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string_view Consumer::class_name() const {
  return kConsumerClasses[spec.index()];
}

std::optional<size_t> consumer_kind(std::string_view class_name) {
  for (size_t i = 0; i < kConsumerClasses.size(); ++i)
    if (base::iequals(kConsumerClasses[i], class_name)) return i;
  return std::nullopt;
}

std::string ConsumerRef::path() const {
  return class_name + ".Name=" + quote(name);
}

bool ConsumerRef::operator==(const ConsumerRef& o) const {
  return base::iequals(class_name, o.class_name) && base::iequals(name, o.name);
}

std::string Binding::filter_path() const {
  return "__EventFilter.Name=" + quote(filter);
}

std::string Binding::path() const {
  return "__FilterToConsumerBinding.Consumer=" + quote(consumer.path()) +
         ",Filter=" + quote(filter_path());
}

Properties properties_of(const EventFilter& filter) {
  return read_fields(filter_fields(), filter);
}

Properties properties_of(const Consumer& consumer) {
  Properties out;
  out.emplace_back("Name", Value::string(consumer.name));
  out.emplace_back("CreatorName", Value::string(consumer.creator));
  Properties spec = std::visit(
      [](const auto& s) -> Properties {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<S, CommandLineConsumer>)
          return read_fields(command_fields(), s);
        if constexpr (std::is_same_v<S, LogFileConsumer>) return read_fields(log_fields(), s);
        if constexpr (std::is_same_v<S, JournalConsumer>) return read_fields(journal_fields(), s);
        if constexpr (std::is_same_v<S, TerminateConsumer>)
          return read_fields(terminate_fields(), s);
      },
      consumer.spec);
  out.insert(out.end(), spec.begin(), spec.end());
  return out;
}

Properties properties_of(const Binding& binding) {
  return {{"Filter", Value::reference(binding.filter_path())},
          {"Consumer", Value::reference(binding.consumer.path())},
          {"CreatorName", Value::string(binding.creator)}};
}

Result<EventFilter> filter_from(const Properties& props) {
  EventFilter f;
  for (const auto& [name, v] : props) {
    auto found = write_field(filter_fields(), f, "__EventFilter", name, v);
    if (!found.ok()) return found.take_error();
    if (!*found) return unknown_property("__EventFilter", name);
  }
  if (auto r = check_required(filter_fields(), f, "__EventFilter"); !r.ok()) return r.take_error();
  if (!base::iequals(f.query_language, "WQL"))
    return invalid(WbemStatus::kInvalidParameter,
                   "__EventFilter.QueryLanguage is '" + f.query_language + "': only WQL is served");
  f.query_language = "WQL";
  return f;
}

Result<Consumer> consumer_from(std::string_view class_name, const Properties& props) {
  auto kind = consumer_kind(class_name);
  if (!kind)
    return invalid(WbemStatus::kInvalidClass,
                   "'" + std::string(class_name) +
                       "' is not a consumer class lwmi runs (CommandLineEventConsumer, "
                       "LogFileEventConsumer, LWMI_JournalEventConsumer, "
                       "LWMI_TerminateProcessEventConsumer)");
  const std::string_view cls = kConsumerClasses[*kind];
  Consumer c;
  Result<void> r = Result<void>();
  switch (*kind) {
    case 0:
      r = fill_spec(command_fields(), c, cls, props);
      break;
    case 1:
      r = fill_spec(log_fields(), c, cls, props);
      break;
    case 2:
      r = fill_spec(journal_fields(), c, cls, props);
      break;
    default:
      r = fill_spec(terminate_fields(), c, cls, props);
      break;
  }
  if (!r.ok()) return r.take_error();
  return c;
}

Result<std::string> filter_name_from_path(std::string_view path) {
  if (path.find('=') == std::string_view::npos && path.find('.') == std::string_view::npos &&
      !path.empty())
    return std::string(path);
  auto p = ObjectPath::parse(path);
  if (!p.ok()) return p.take_error();
  if (!base::iequals(p->class_name, "__EventFilter"))
    return invalid(WbemStatus::kInvalidObjectPath,
                   "'" + std::string(path) + "' does not name an __EventFilter");
  const KeyBinding* k = p->key("Name");
  if (!k || k->value.type() != CimType::kString || k->value.as_string().empty())
    return invalid(WbemStatus::kInvalidObjectPath,
                   "'" + std::string(path) + "' has no Name key (__EventFilter.Name=\"…\")");
  return k->value.as_string();
}

Result<ConsumerRef> consumer_ref_from_path(std::string_view path) {
  auto p = ObjectPath::parse(path);
  if (!p.ok()) return p.take_error();
  auto kind = consumer_kind(p->class_name);
  if (!kind)
    return invalid(WbemStatus::kInvalidObjectPath, "'" + std::string(path) +
                                                       "' does not name a consumer (e.g. " +
                                                       "LogFileEventConsumer.Name=\"x\")");
  const KeyBinding* k = p->key("Name");
  if (!k || k->value.type() != CimType::kString || k->value.as_string().empty())
    return invalid(WbemStatus::kInvalidObjectPath, "'" + std::string(path) + "' has no Name key");
  return ConsumerRef{std::string(kConsumerClasses[*kind]), k->value.as_string()};
}

Result<Binding> binding_from(const Properties& props) {
  Binding b;
  bool have_filter = false, have_consumer = false;
  for (const auto& [name, v] : props) {
    const bool is_filter = base::iequals(name, "Filter");
    if (is_filter || base::iequals(name, "Consumer")) {
      if (v.is_null()) continue;
      if (v.type() != CimType::kString && v.type() != CimType::kReference)
        return invalid(WbemStatus::kTypeMismatch,
                       "__FilterToConsumerBinding." + name + " must be an object path");
      if (is_filter) {
        auto n = filter_name_from_path(v.as_string());
        if (!n.ok()) return n.take_error();
        b.filter = *n;
        have_filter = true;
      } else {
        auto c = consumer_ref_from_path(v.as_string());
        if (!c.ok()) return c.take_error();
        b.consumer = *c;
        have_consumer = true;
      }
    } else if (base::iequals(name, "CreatorName")) {
      if (!v.is_null() && v.type() == CimType::kString) b.creator = v.as_string();
    } else if (base::iequals(name, "DeliverSynchronously") ||
               base::iequals(name, "MaintainSecurityContext") ||
               base::iequals(name, "SlowDownProviders")) {
      // WMI's tuning flags: accepted, with no meaning here (delivery is always asynchronous).
    } else {
      return unknown_property("__FilterToConsumerBinding", name);
    }
  }
  if (!have_filter)
    return invalid(WbemStatus::kInvalidParameter, "__FilterToConsumerBinding.Filter is required");
  if (!have_consumer)
    return invalid(WbemStatus::kInvalidParameter, "__FilterToConsumerBinding.Consumer is required");
  return b;
}

}  // namespace lwmi::permanent
