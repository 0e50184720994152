#include "lwmi/value.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include "base/strings.h"
#include "lwmi/instance.h"

namespace lwmi {
namespace {

struct TypeName {
  CimType type;
  std::string_view name;
};
constexpr TypeName kTypeNames[] = {
    {CimType::kBoolean, "boolean"}, {CimType::kUint8, "uint8"},       {CimType::kSint8, "sint8"},
    {CimType::kUint16, "uint16"},   {CimType::kSint16, "sint16"},     {CimType::kUint32, "uint32"},
    {CimType::kSint32, "sint32"},   {CimType::kUint64, "uint64"},     {CimType::kSint64, "sint64"},
    {CimType::kReal32, "real32"},   {CimType::kReal64, "real64"},     {CimType::kChar16, "char16"},
    {CimType::kString, "string"},   {CimType::kDatetime, "datetime"}, {CimType::kReference, "ref"},
    {CimType::kObject, "object"},
};

uint64_t unsigned_max(CimType t) {
  switch (t) {
    case CimType::kUint8:
      return UINT8_MAX;
    case CimType::kUint16:
      return UINT16_MAX;
    case CimType::kUint32:
      return UINT32_MAX;
    default:
      return UINT64_MAX;
  }
}
std::pair<int64_t, int64_t> signed_range(CimType t) {
  switch (t) {
    case CimType::kSint8:
      return {INT8_MIN, INT8_MAX};
    case CimType::kSint16:
      return {INT16_MIN, INT16_MAX};
    case CimType::kSint32:
      return {INT32_MIN, INT32_MAX};
    default:
      return {INT64_MIN, INT64_MAX};
  }
}

}  // namespace

std::string_view cim_type_name(CimType type) {
  for (const auto& t : kTypeNames)
    if (t.type == type) return t.name;
  return "string";
}

std::optional<CimType> parse_cim_type(std::string_view name) {
  for (const auto& t : kTypeNames)
    if (base::iequals(t.name, name)) return t.type;
  if (base::iequals(name, "reference")) return CimType::kReference;
  return std::nullopt;
}

bool is_unsigned_integer(CimType t) {
  return t == CimType::kUint8 || t == CimType::kUint16 || t == CimType::kUint32 ||
         t == CimType::kUint64;
}
bool is_signed_integer(CimType t) {
  return t == CimType::kSint8 || t == CimType::kSint16 || t == CimType::kSint32 ||
         t == CimType::kSint64;
}
bool is_integer(CimType t) {
  return is_unsigned_integer(t) || is_signed_integer(t);
}
bool is_real(CimType t) {
  return t == CimType::kReal32 || t == CimType::kReal64;
}
bool is_textual(CimType t) {
  return t == CimType::kString || t == CimType::kChar16 || t == CimType::kDatetime ||
         t == CimType::kReference;
}

Value Value::null(CimType type, bool array) {
  Value v;
  v.type_ = type;
  v.array_ = array;
  return v;
}
Value Value::boolean(bool b) {
  Value v;
  v.type_ = CimType::kBoolean;
  v.data_ = b;
  return v;
}
Value Value::unsigned_of(CimType t, uint64_t x) {
  Value v;
  v.type_ = t;
  v.data_ = x;
  return v;
}
Value Value::signed_of(CimType t, int64_t x) {
  Value v;
  v.type_ = t;
  v.data_ = x;
  return v;
}
Value Value::real64(double d) {
  Value v;
  v.type_ = CimType::kReal64;
  v.data_ = d;
  return v;
}
Value Value::real32(float f) {
  Value v;
  v.type_ = CimType::kReal32;
  v.data_ = static_cast<double>(f);
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.type_ = CimType::kString;
  v.data_ = std::move(s);
  return v;
}
Value Value::datetime(std::string text) {
  Value v;
  v.type_ = CimType::kDatetime;
  v.data_ = std::move(text);
  return v;
}
Value Value::reference(std::string path) {
  Value v;
  v.type_ = CimType::kReference;
  v.data_ = std::move(path);
  return v;
}
Value Value::object(std::shared_ptr<const Instance> instance) {
  Value v;
  v.type_ = CimType::kObject;
  if (instance) v.data_ = std::move(instance);
  return v;
}
Value Value::array(CimType element, std::vector<Value> elements) {
  Value v;
  v.type_ = element;
  v.array_ = true;
  v.data_ = std::move(elements);
  return v;
}

std::optional<Value> Value::integer(CimType type, int64_t x) {
  if (is_unsigned_integer(type)) {
    if (x < 0 || static_cast<uint64_t>(x) > unsigned_max(type)) return std::nullopt;
    return unsigned_of(type, static_cast<uint64_t>(x));
  }
  if (is_signed_integer(type)) {
    auto [lo, hi] = signed_range(type);
    if (x < lo || x > hi) return std::nullopt;
    return signed_of(type, x);
  }
  return std::nullopt;
}

std::optional<Value> Value::integer_unsigned(CimType type, uint64_t x) {
  if (is_unsigned_integer(type)) {
    if (x > unsigned_max(type)) return std::nullopt;
    return unsigned_of(type, x);
  }
  if (is_signed_integer(type)) {
    if (x > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return integer(type, static_cast<int64_t>(x));
  }
  return std::nullopt;
}

std::optional<Value> Value::from_text(CimType type, std::string_view text) {
  if (is_unsigned_integer(type)) {
    auto u = base::parse_u64(text);
    if (!u) return std::nullopt;
    return integer_unsigned(type, *u);
  }
  if (is_signed_integer(type)) {
    auto i = base::parse_i64(text);
    if (!i) return std::nullopt;
    return integer(type, *i);
  }
  switch (type) {
    case CimType::kBoolean:
      if (base::iequals(text, "true") || text == "1") return boolean(true);
      if (base::iequals(text, "false") || text == "0") return boolean(false);
      return std::nullopt;
    case CimType::kReal32:
    case CimType::kReal64: {
      if (text.empty()) return std::nullopt;
      std::string s(text);
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (end != s.c_str() + s.size() || !std::isfinite(d)) return std::nullopt;
      return type == CimType::kReal32 ? real32(static_cast<float>(d)) : real64(d);
    }
    case CimType::kChar16:
      if (text.size() != 1) return std::nullopt;
      return [&] {
        Value v = string(std::string(text));
        v.type_ = CimType::kChar16;
        return v;
      }();
    case CimType::kString:
      return string(std::string(text));
    case CimType::kDatetime:
      return datetime(std::string(text));
    case CimType::kReference:
      return reference(std::string(text));
    default:
      return std::nullopt;
  }
}

uint64_t Value::as_u64() const {
  if (auto* u = std::get_if<uint64_t>(&data_)) return *u;
  if (auto* i = std::get_if<int64_t>(&data_)) return static_cast<uint64_t>(*i);
  if (auto* b = std::get_if<bool>(&data_)) return *b ? 1 : 0;
  if (auto* d = std::get_if<double>(&data_)) return static_cast<uint64_t>(*d);
  return 0;
}

int64_t Value::as_i64() const {
  if (auto* i = std::get_if<int64_t>(&data_)) return *i;
  if (auto* u = std::get_if<uint64_t>(&data_)) return static_cast<int64_t>(*u);
  if (auto* b = std::get_if<bool>(&data_)) return *b ? 1 : 0;
  if (auto* d = std::get_if<double>(&data_)) return static_cast<int64_t>(*d);
  return 0;
}

double Value::as_real() const {
  if (auto* d = std::get_if<double>(&data_)) return *d;
  if (auto* i = std::get_if<int64_t>(&data_)) return static_cast<double>(*i);
  if (auto* u = std::get_if<uint64_t>(&data_)) return static_cast<double>(*u);
  if (auto* b = std::get_if<bool>(&data_)) return *b ? 1.0 : 0.0;
  return 0.0;
}

std::string Value::to_text() const {
  if (is_null()) return {};
  if (array_) {
    std::string out = "{";
    const auto& els = elements();
    for (size_t i = 0; i < els.size(); ++i) {
      if (i) out += ',';
      out += els[i].to_text();
    }
    out += '}';
    return out;
  }
  if (auto* b = std::get_if<bool>(&data_)) return *b ? "TRUE" : "FALSE";
  if (auto* u = std::get_if<uint64_t>(&data_)) return std::to_string(*u);
  if (auto* i = std::get_if<int64_t>(&data_)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&data_)) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, *d);
    return std::string(buf, r.ptr);
  }
  if (auto* s = std::get_if<std::string>(&data_)) return *s;
  if (auto* o = std::get_if<std::shared_ptr<const Instance>>(&data_)) {
    if (auto p = (*o)->path()) return *p;
    return "instance of " + (*o)->class_name();
  }
  return {};
}

bool operator==(const Value& a, const Value& b) {
  if (a.type_ != b.type_ || a.array_ != b.array_ || a.data_.index() != b.data_.index())
    return false;
  if (auto* o = std::get_if<std::shared_ptr<const Instance>>(&a.data_))
    return *o == std::get<std::shared_ptr<const Instance>>(b.data_);
  return a.data_ == b.data_;
}

}  // namespace lwmi
