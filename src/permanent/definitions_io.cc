// permanent/definitions_io.cc — the store file (JSON) and subscriptions.d (TOML), both through the
// model's property tables, both all-or-nothing.
#include "permanent/definitions_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "base/strings.h"
#include "os/descriptors.h"

namespace lwmi::permanent {
namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kMaxFileBytes = 4 * 1024 * 1024;

Error failure(WbemStatus code, std::string message) {
  return Error{code, std::move(message), std::nullopt};
}

std::string errno_text(int err) {
  return std::strerror(err);
}

// ---- Classes ---------------------------------------------------------------------------------

enum class Kind { kFilter, kConsumer, kBinding };

// A class a definition may have, with its name as lwmi spells it.
struct ClassOf {
  Kind kind;
  ConsumerSpec spec;  // for consumers: the default of its kind
  std::string name;
};

// The default spec of consumer kind `kind` (consumer_kind() is the ConsumerSpec index).
ConsumerSpec spec_of(size_t kind) {
  switch (kind) {
    case 0:
      return CommandLineConsumer{};
    case 1:
      return LogFileConsumer{};
    case 2:
      return JournalConsumer{};
    default:
      return TerminateConsumer{};
  }
}

std::optional<ClassOf> class_of(std::string_view name) {
  if (base::iequals(name, "__EventFilter")) return ClassOf{Kind::kFilter, {}, "__EventFilter"};
  if (base::iequals(name, "__FilterToConsumerBinding"))
    return ClassOf{Kind::kBinding, {}, "__FilterToConsumerBinding"};
  auto kind = consumer_kind(name);
  if (!kind) return std::nullopt;
  Consumer c;
  c.spec = spec_of(*kind);
  return ClassOf{Kind::kConsumer, c.spec, std::string(c.class_name())};
}

Error unknown_class(std::string_view name) {
  return failure(WbemStatus::kInvalidClass,
                 "unknown class '" + std::string(name) +
                     "': the classes are __EventFilter, __FilterToConsumerBinding, "
                     "CommandLineEventConsumer, LogFileEventConsumer, LWMI_JournalEventConsumer "
                     "and LWMI_TerminateProcessEventConsumer");
}

// ---- Collecting definitions ------------------------------------------------------------------

// Builds definitions through the model and refuses one defined twice (WMI's keys: a filter's
// Name, a consumer's class and Name, a binding's Filter and Consumer; case-insensitively).
class Collector {
 public:
  // `where` prefixes the object's errors ("FILE:LINE:COL", "consumers[2]").
  Result<void> add(const ClassOf& cls, const Properties& props, const Origin& origin,
                   const std::string& where) {
    std::string key, shown;
    switch (cls.kind) {
      case Kind::kFilter: {
        auto f = filter_from(props);
        if (!f.ok()) return located(where, f.take_error());
        f->origin = origin;
        shown = Binding{f->name, {}, {}, {}}.filter_path();
        key = shown;
        out_.filters.push_back(std::move(*f));
        break;
      }
      case Kind::kConsumer: {
        auto c = consumer_from(cls.name, props);
        if (!c.ok()) return located(where, c.take_error());
        c->origin = origin;
        shown = ConsumerRef{std::string(c->class_name()), c->name}.path();
        key = shown;
        out_.consumers.push_back(std::move(*c));
        break;
      }
      case Kind::kBinding: {
        auto b = binding_from(props);
        if (!b.ok()) return located(where, b.take_error());
        b->origin = origin;
        shown = b->path();
        key = b->filter_path() + "\n" + b->consumer.path();
        out_.bindings.push_back(std::move(*b));
        break;
      }
    }
    auto [it, inserted] = seen_.emplace(base::to_lower(key), where);
    if (!inserted)
      return failure(WbemStatus::kAlreadyExists,
                     where + ": " + shown + " is already defined at " + it->second);
    return Result<void>();
  }

  Definitions take() { return std::move(out_); }

  static Error located(const std::string& where, Error e) {
    e.message = where + ": " + e.message;
    e.position.reset();  // a position inside the property's value, not the file's
    return e;
  }

 private:
  Definitions out_;
  std::map<std::string, std::string> seen_;  // lower-cased key -> where it was defined first
};

// ---- The store (JSON) ------------------------------------------------------------------------

Json to_json(const Value& v) {
  if (v.is_null()) return nullptr;
  if (v.is_array()) {
    Json out = Json::array();
    for (const auto& e : v.elements()) out.push_back(to_json(e));
    return out;
  }
  if (v.type() == CimType::kBoolean) return v.as_bool();
  if (is_unsigned_integer(v.type())) return v.as_u64();
  if (is_signed_integer(v.type())) return v.as_i64();
  if (is_real(v.type())) return v.as_real();
  if (is_textual(v.type())) return v.as_string();
  return v.to_text();  // an embedded object: no property of these classes holds one
}

// A JSON property value as a CIM value (the model converts it to the property's type); nullopt
// for what no property takes (an object, a real, an array of anything but strings).
std::optional<Value> from_json(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return Value();
    case Json::value_t::string:
      return Value::string(j.get<std::string>());
    case Json::value_t::boolean:
      return Value::boolean(j.get<bool>());
    case Json::value_t::number_unsigned:
      return Value::uint64(j.get<uint64_t>());
    case Json::value_t::number_integer:
      return Value::sint64(j.get<int64_t>());
    case Json::value_t::array: {
      std::vector<Value> elements;
      for (const auto& e : j) {
        if (!e.is_string()) return std::nullopt;
        elements.push_back(Value::string(e.get<std::string>()));
      }
      return Value::array(CimType::kString, std::move(elements));
    }
    default:
      return std::nullopt;
  }
}

Json object_json(const Properties& props, std::string_view cls = {}) {
  Json obj = Json::object();
  if (!cls.empty()) obj["class"] = cls;
  for (const auto& [name, v] : props) obj[name] = to_json(v);
  return obj;
}

// Whether `j` dumps, i.e. holds only valid UTF-8.
bool dumps(const Json& j) {
  try {
    (void)j.dump();
    return true;
  } catch (const Json::type_error&) {
    return false;
  }
}

// 1-based line and column of byte `offset` in `text`.
std::pair<size_t, size_t> line_column(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// Reads the store document's sections into a Collector.
class StoreReader {
 public:
  explicit StoreReader(std::string_view source)
      : source_(source.empty() ? "store" : std::string(source)) {}

  Error fail(const std::string& what, WbemStatus code = WbemStatus::kInvalidParameter) const {
    return failure(code, source_ + ": " + what);
  }

  Result<Definitions> read(std::string_view text) {
    Json doc;
    try {
      doc = Json::parse(text);
    } catch (const Json::parse_error& e) {
      // e.byte: 1-based index of the byte where parsing stopped.
      const size_t offset = e.byte > 0 ? e.byte - 1 : 0;
      auto [line, column] = line_column(text, offset);
      // e.what() is "[json.exception…] parse error at line L, column C: DETAIL": the place is
      // said once, in this file's own form.
      std::string detail = e.what();
      if (size_t at = detail.find("column "); at != std::string::npos) {
        if (size_t colon = detail.find(": ", at); colon != std::string::npos)
          detail.erase(0, colon + 2);
      }
      Error err = failure(WbemStatus::kInvalidParameter, source_ + ":" + std::to_string(line) +
                                                             ":" + std::to_string(column) +
                                                             ": not valid JSON: " + detail);
      err.position = offset;
      return err;
    } catch (const Json::exception& e) {
      // Not a syntax error (a number too large for a double, …): found by fuzzing.
      return fail(std::string("not valid JSON: ") + e.what());
    }
    if (!doc.is_object()) return fail("not an lwmi subscription store (not a JSON object)");
    auto format = doc.find("format");
    if (format == doc.end() || !format->is_string() ||
        format->get<std::string>() != std::string(kStoreFormat))
      return fail("not an lwmi subscription store (\"format\" is not \"" +
                  std::string(kStoreFormat) + "\")");
    auto version = doc.find("version");
    if (version == doc.end() || !version->is_number_unsigned())
      return fail("\"version\" is missing or not a positive integer");
    if (version->get<uint64_t>() != static_cast<uint64_t>(kStoreVersion))
      return fail("version " + std::to_string(version->get<uint64_t>()) +
                  " is not one this lwmid reads (version " + std::to_string(kStoreVersion) + ")");
    for (const auto& [key, value] : doc.items()) {
      if (key == "format" || key == "version") continue;
      std::optional<Kind> kind;
      if (key == "filters") kind = Kind::kFilter;
      if (key == "consumers") kind = Kind::kConsumer;
      if (key == "bindings") kind = Kind::kBinding;
      if (!kind) return fail("unknown key \"" + key + "\"");
      if (!value.is_array()) return fail("\"" + key + "\" is not an array");
      for (size_t i = 0; i < value.size(); ++i) {
        auto r = object(*kind, key + "[" + std::to_string(i) + "]", value[i]);
        if (!r.ok()) return r.take_error();
      }
    }
    return out_.take();
  }

 private:
  Result<void> object(Kind kind, const std::string& where, const Json& obj) {
    if (!obj.is_object()) return fail(where + ": not a JSON object");
    std::optional<ClassOf> cls;
    if (kind == Kind::kConsumer) {
      auto c = obj.find("class");
      if (c == obj.end() || !c->is_string()) return fail(where + ": no \"class\"");
      cls = class_of(c->get<std::string>());
      if (!cls || cls->kind != Kind::kConsumer)
        return fail(where + ": " + unknown_class(c->get<std::string>()).message,
                    WbemStatus::kInvalidClass);
    } else {
      cls = class_of(kind == Kind::kFilter ? "__EventFilter" : "__FilterToConsumerBinding");
    }
    Properties props;
    for (const auto& [name, value] : obj.items()) {
      if (kind == Kind::kConsumer && name == "class") continue;
      for (const auto& seen : props)
        if (base::iequals(seen.first, name))
          return fail(where + ": \"" + name + "\" repeats \"" + seen.first + "\"");
      auto v = from_json(value);
      if (!v)
        return fail(where + ": " + cls->name + "." + name + " holds a JSON " + value.type_name() +
                        ", which no property takes",
                    WbemStatus::kTypeMismatch);
      props.emplace_back(name, std::move(*v));
    }
    auto r = out_.add(*cls, props, Origin{}, source_ + ": " + where);
    if (!r.ok()) return r.take_error();
    return Result<void>();
  }

  std::string source_;
  Collector out_;
};

// ---- subscriptions.d (TOML) ------------------------------------------------------------------

bool known(const toml::source_position& p) {
  return p.line != 0;
}

bool before(const toml::source_position& a, const toml::source_position& b) {
  return a.line != b.line ? a.line < b.line : a.column < b.column;
}

// What a TOML value no property takes is, for the message.
std::string toml_kind(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// A TOML value as a CIM value: a string, an integer as sint64 (the model converts it to the
// property's type and refuses a negative one), a boolean, an array of strings. Otherwise nullopt,
// with `*bad` the node at fault (an array's first element that is not a string).
std::optional<Value> value_of(const toml::node& n, const toml::node** bad) {
  *bad = &n;
  if (const auto* s = n.as_string()) return Value::string(s->get());
  if (const auto* i = n.as_integer()) return Value::sint64(i->get());
  if (const auto* b = n.as_boolean()) return Value::boolean(b->get());
  if (const auto* a = n.as_array()) {
    std::vector<Value> elements;
    for (const auto& e : *a) {
      if (!e.is_string()) {
        *bad = &e;
        return std::nullopt;
      }
      elements.push_back(Value::string(e.as_string()->get()));
    }
    return Value::array(CimType::kString, std::move(elements));
  }
  return std::nullopt;
}

// A valid object of class `cls`, as properties: the base a single property is tried on, so an
// error is that property's.
Properties sample(const ClassOf& cls) {
  switch (cls.kind) {
    case Kind::kFilter: {
      EventFilter f;
      f.name = f.query = "x";
      return properties_of(f);
    }
    case Kind::kBinding: {
      Binding b;
      b.filter = "x";
      b.consumer = ConsumerRef{"LogFileEventConsumer", "x"};
      return properties_of(b);
    }
    case Kind::kConsumer:
      break;
  }
  Consumer c;
  c.name = "x";
  c.spec = cls.spec;
  Properties props = properties_of(c);
  for (auto& [name, v] : props)  // the required text properties
    if (!v.is_array() && v.type() == CimType::kString && !v.is_null() && v.as_string().empty())
      v = Value::string("x");
  return props;
}

Result<void> build(const ClassOf& cls, const Properties& props) {
  switch (cls.kind) {
    case Kind::kFilter:
      if (auto f = filter_from(props); !f.ok()) return f.take_error();
      break;
    case Kind::kConsumer:
      if (auto c = consumer_from(cls.name, props); !c.ok()) return c.take_error();
      break;
    case Kind::kBinding:
      if (auto b = binding_from(props); !b.ok()) return b.take_error();
      break;
  }
  return Result<void>();
}

// One subscriptions.d file.
class FileReader {
 public:
  FileReader(std::string path, Collector& out) : path_(std::move(path)), out_(out) {}

  Error at(const toml::source_position& p, WbemStatus code, const std::string& what) const {
    std::string where = path_;
    if (known(p)) where += ":" + std::to_string(p.line) + ":" + std::to_string(p.column);
    return failure(code, where + ": " + what);
  }

  Result<void> read(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text, std::string_view(path_));
    } catch (const toml::parse_error& e) {
      return at(e.source().begin, WbemStatus::kInvalidParameter, std::string(e.description()));
    }
    struct Entry {
      toml::source_position where;
      ClassOf cls;
      const toml::table* table;
    };
    std::vector<Entry> entries;
    for (const auto& [key, node] : root) {
      const std::string name(key.str());
      const auto* array = node.as_array();
      const auto* table = node.as_table();
      if (!table && !(array && array->is_array_of_tables() && !array->empty()))
        return at(key.source().begin, WbemStatus::kInvalidParameter,
                  "'" + name + "' is outside any table; each object is a [[Class]] table");
      const auto where = table ? table->source().begin : array->front().source().begin;
      auto cls = class_of(name);
      if (!cls) return at(where, WbemStatus::kInvalidClass, unknown_class(name).message);
      if (table)
        return at(where, WbemStatus::kInvalidParameter,
                  "'" + name + "' is a single table: write each object as [[" + cls->name + "]]");
      for (const auto& element : *array)
        entries.push_back(Entry{element.source().begin, *cls, element.as_table()});
    }
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry& a, const Entry& b) { return before(a.where, b.where); });
    for (const auto& e : entries)
      if (auto r = object(e.cls, e.where, *e.table); !r.ok()) return r;
    return Result<void>();
  }

 private:
  Result<void> object(const ClassOf& cls, const toml::source_position& where,
                      const toml::table& table) {
    std::vector<std::pair<const toml::key*, const toml::node*>> keys;
    for (const auto& [key, node] : table) keys.emplace_back(&key, &node);
    std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
      return before(a.first->source().begin, b.first->source().begin);
    });
    const Properties base = sample(cls);
    Properties props;
    for (const auto& [key, node] : keys) {
      const std::string name(key->str());
      const auto key_at = key->source().begin;
      const auto value_at = known(node->source().begin) ? node->source().begin : key_at;
      for (const auto& seen : props)
        if (base::iequals(seen.first, name))
          return at(
              key_at, WbemStatus::kInvalidParameter,
              "'" + name + "' repeats '" + seen.first + "' (property names are case-insensitive)");
      if (base::iequals(name, "CreatorName"))
        return at(key_at, WbemStatus::kInvalidProperty,
                  cls.name +
                      ".CreatorName is not set in files (it records who made an object "
                      "through the API)");
      // Each property is tried alone on a valid object, so its error is reported at its key
      // (a property the class lacks) or its value (anything else).
      Properties one = base;
      one.emplace_back(name, Value());
      if (auto r = build(cls, one); !r.ok()) return at(key_at, r.error().code, r.error().message);
      const toml::node* bad = nullptr;
      auto v = value_of(*node, &bad);
      if (!v) {
        const auto bad_at = known(bad->source().begin) ? bad->source().begin : value_at;
        return at(bad_at, WbemStatus::kTypeMismatch,
                  cls.name + "." + name + " cannot be " + toml_kind(*bad) +
                      " (properties are strings, integers, booleans or arrays of strings)");
      }
      one.back().second = *v;
      if (auto r = build(cls, one); !r.ok()) return at(value_at, r.error().code, r.error().message);
      props.emplace_back(name, std::move(*v));
    }
    Origin origin{path_, where.line, where.column};
    return out_.add(cls, props, origin, origin.describe());
  }

  std::string path_;
  Collector& out_;
};

// Why a subscriptions.d file or the directory may not be trusted: "" when only lwmid's own user
// can change it.
std::string untrusted(const struct stat& st) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  if (st.st_uid != ::geteuid())
    return "writable by others (owned by uid " + std::to_string(st.st_uid) + ", not lwmid's uid " +
           std::to_string(::geteuid()) + ")";
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return std::string("writable by others (mode ") + mode + ")";
  return "";
}

Error refused(const std::string& path, const std::string& why) {
  return failure(WbemStatus::kAccessDenied,
                 path + ": " + why +
                     "; subscriptions.d files make lwmid run commands as configured users and "
                     "end processes, so only lwmid's own user may write them");
}

// Reads at most kMaxFileBytes from `fd`.
Result<std::string> read_all(int fd, const std::string& path) {
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return failure(WbemStatus::kFailed, "cannot read " + path + ": " + errno_text(errno));
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxFileBytes)
      return failure(WbemStatus::kInvalidParameter,
                     path + ": larger than " + std::to_string(kMaxFileBytes) + " bytes");
  }
}

// Reads one subscriptions.d file through `dir_fd`, refusing one others could write. The checks
// are on the open descriptor, so they hold for what is read (a link is followed: its target is
// what must be lwmid's).
Result<std::string> read_trusted(int dir_fd, const std::string& name, const std::string& path) {
  // O_NONBLOCK: a FIFO named *.toml must not stall the load; it is refused below.
  const os::Fd file(::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!file.valid())
    return failure(WbemStatus::kFailed, "cannot read " + path + ": " + errno_text(errno));
  struct stat st {};
  if (::fstat(file.get(), &st) != 0)
    return failure(WbemStatus::kFailed, "cannot read " + path + ": " + errno_text(errno));
  if (!S_ISREG(st.st_mode))
    return failure(WbemStatus::kInvalidParameter, path + ": not a regular file");
  if (auto why = untrusted(st); !why.empty()) return refused(path, why);
  return read_all(file.get(), path);
}

bool is_definition_file(const std::string& name) {
  constexpr std::string_view kSuffix = ".toml";
  return !name.empty() && name[0] != '.' && name.size() > kSuffix.size() &&
         name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
}

}  // namespace

Result<std::string> encode_store(const Definitions& d) {
  Json filters = Json::array(), consumers = Json::array(), bindings = Json::array();
  std::vector<std::string> shown;  // each stored object's name, for an error
  for (const auto& f : d.filters) {
    if (f.origin.from_file()) continue;
    filters.push_back(object_json(properties_of(f)));
    shown.push_back("filter " + Binding{f.name, {}, {}, {}}.filter_path());
  }
  for (const auto& c : d.consumers) {
    if (c.origin.from_file()) continue;
    consumers.push_back(object_json(properties_of(c), c.class_name()));
    shown.push_back("consumer " + ConsumerRef{std::string(c.class_name()), c.name}.path());
  }
  for (const auto& b : d.bindings) {
    if (b.origin.from_file()) continue;
    bindings.push_back(object_json(properties_of(b)));
    shown.push_back("binding " + b.path());
  }
  Json doc = Json::object();
  doc["format"] = kStoreFormat;
  doc["version"] = kStoreVersion;
  doc["filters"] = std::move(filters);
  doc["consumers"] = std::move(consumers);
  doc["bindings"] = std::move(bindings);
  try {
    return doc.dump(2) + "\n";
  } catch (const Json::type_error&) {
    // Only invalid UTF-8 makes dump() throw: name the object that holds it.
    size_t i = 0;
    for (const char* section : {"filters", "consumers", "bindings"})
      for (const auto& obj : doc[section]) {
        if (!dumps(obj))
          return failure(WbemStatus::kInvalidParameter,
                         "the " + shown[i] + " holds text that is not valid UTF-8");
        ++i;
      }
    return failure(WbemStatus::kInvalidParameter, "a definition holds text that is not UTF-8");
  }
}

Result<Definitions> decode_store(std::string_view text, std::string_view source) {
  return StoreReader(source).read(text);
}

Result<Definitions> load_store(const std::string& path) {
  std::string text;
  if (int err = os::read_file(path, &text); err != 0) {
    if (err == ENOENT) return Definitions{};
    return failure(WbemStatus::kFailed, "cannot read " + path + ": " + errno_text(err));
  }
  return decode_store(text, path);
}

Result<void> write_file_atomically(const std::string& path, std::string_view text) {
  if (int err = os::write_file_atomically(path, text, 0600); err != 0)
    return failure(WbemStatus::kFailed, "cannot write " + path + ": " + errno_text(err));
  return Result<void>();
}

Result<void> save_store(const std::string& path, const Definitions& d) {
  auto text = encode_store(d);
  if (!text.ok()) return text.take_error();
  return write_file_atomically(path, *text);
}

Result<Definitions> load_subscription_files(const std::string& dir) {
  std::string shown = dir;
  while (shown.size() > 1 && shown.back() == '/') shown.pop_back();
  const os::Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid()) {
    if (errno == ENOENT) return Definitions{};
    return failure(WbemStatus::kFailed, "cannot read " + shown + ": " + errno_text(errno));
  }
  struct stat st {};
  if (::fstat(dir_fd.get(), &st) != 0)
    return failure(WbemStatus::kFailed, "cannot read " + shown + ": " + errno_text(errno));
  if (auto why = untrusted(st); !why.empty()) return refused(shown, why);
  // fdopendir owns the descriptor it is given (closedir closes it): a duplicate, so dir_fd stays
  // for openat.
  os::Fd list_fd(::fcntl(dir_fd.get(), F_DUPFD_CLOEXEC, 0));
  DIR* listing = list_fd ? ::fdopendir(list_fd.get()) : nullptr;
  if (!listing) {
    const int err = errno;
    list_fd.reset();
    return failure(WbemStatus::kFailed, "cannot read " + shown + ": " + errno_text(err));
  }
  list_fd.release();  // closedir closes it
  std::vector<std::string> names;
  while (dirent* e = ::readdir(listing))
    if (is_definition_file(e->d_name)) names.emplace_back(e->d_name);
  ::closedir(listing);
  std::sort(names.begin(), names.end());

  Collector out;
  for (const auto& name : names) {
    const std::string path = shown + "/" + name;
    auto text = read_trusted(dir_fd.get(), name, path);
    if (!text.ok()) return text.take_error();
    if (auto r = FileReader(path, out).read(*text); !r.ok()) return r.take_error();
  }
  return out.take();
}

Result<Definitions> parse_subscription_file(std::string_view text, const std::string& path) {
  Collector out;
  if (auto r = FileReader(path, out).read(text); !r.ok()) return r.take_error();
  return out.take();
}

}  // namespace lwmi::permanent
