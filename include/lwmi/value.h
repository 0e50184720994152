// lwmi/value.h — a typed CIM value that may be NULL (string, boolean, integers, reals, datetime,
// reference, embedded object, and arrays of these).
//
// NULL is distinct from an empty string or zero, and a NULL keeps its type. Integers keep their
// declared width (uint32 stays uint32). DATETIME and references are kept as their CIM text.
// Thread safety: immutable after construction; embedded objects are shared read-only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace lwmi {

class Instance;

/// CIM intrinsic types.
enum class CimType : uint8_t {
  kBoolean,
  kUint8,
  kSint8,
  kUint16,
  kSint16,
  kUint32,
  kSint32,
  kUint64,
  kSint64,
  kReal32,
  kReal64,
  kChar16,
  kString,
  kDatetime,
  kReference,
  kObject,
};

/// "uint32", "string", "datetime", "object"…
std::string_view cim_type_name(CimType type);
/// Inverse of cim_type_name (case-insensitive); nullopt when unknown.
std::optional<CimType> parse_cim_type(std::string_view name);
bool is_unsigned_integer(CimType type);
bool is_signed_integer(CimType type);
bool is_integer(CimType type);
bool is_real(CimType type);
bool is_textual(CimType type);  ///< string, char16, datetime, reference

/// A CIM value; default-constructed it is an untyped NULL.
class Value {
 public:
  Value() = default;

  static Value null(CimType type, bool array = false);
  static Value boolean(bool v);
  static Value uint8(uint8_t v) { return unsigned_of(CimType::kUint8, v); }
  static Value uint16(uint16_t v) { return unsigned_of(CimType::kUint16, v); }
  static Value uint32(uint32_t v) { return unsigned_of(CimType::kUint32, v); }
  static Value uint64(uint64_t v) { return unsigned_of(CimType::kUint64, v); }
  static Value sint8(int8_t v) { return signed_of(CimType::kSint8, v); }
  static Value sint16(int16_t v) { return signed_of(CimType::kSint16, v); }
  static Value sint32(int32_t v) { return signed_of(CimType::kSint32, v); }
  static Value sint64(int64_t v) { return signed_of(CimType::kSint64, v); }
  static Value real64(double v);
  static Value real32(float v);
  static Value string(std::string v);
  /// CIM DATETIME text (25 characters); not validated here, see DateTime::parse.
  static Value datetime(std::string text);
  /// An object path, as text.
  static Value reference(std::string path);
  static Value object(std::shared_ptr<const Instance> instance);
  /// An array whose elements all have type `element`.
  static Value array(CimType element, std::vector<Value> elements);
  /// Any integer type from a 64-bit carrier; false if out of range for the type.
  static std::optional<Value> integer(CimType type, int64_t v);
  static std::optional<Value> integer_unsigned(CimType type, uint64_t v);
  /// Parses `text` as a value of `type` (decimal integers, TRUE/FALSE, reals, strings as is).
  static std::optional<Value> from_text(CimType type, std::string_view text);

  /// The type (for arrays, the element type); kString for an untyped NULL.
  CimType type() const { return type_; }
  bool is_array() const { return array_; }
  bool is_null() const { return data_.index() == 0; }

  bool as_bool() const { return std::get<bool>(data_); }
  /// Unsigned integers (and booleans as 0/1).
  uint64_t as_u64() const;
  /// Signed integers; unsigned ones converted (may wrap above INT64_MAX).
  int64_t as_i64() const;
  /// Any numeric value as double.
  double as_real() const;
  /// string, char16, datetime, reference.
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const std::shared_ptr<const Instance>& as_object() const {
    return std::get<std::shared_ptr<const Instance>>(data_);
  }
  const std::vector<Value>& elements() const { return std::get<std::vector<Value>>(data_); }

  /// Display text: integers in decimal, booleans TRUE/FALSE, strings as they are, arrays as
  /// {a,b}, embedded objects as their path or class name; NULL as "".
  std::string to_text() const;

  /// Exact equality: same type, nullness and content (strings case-sensitively).
  friend bool operator==(const Value& a, const Value& b);

 private:
  static Value unsigned_of(CimType t, uint64_t v);
  static Value signed_of(CimType t, int64_t v);

  CimType type_ = CimType::kString;
  bool array_ = false;
  std::variant<std::monostate, bool, uint64_t, int64_t, double, std::string,
               std::shared_ptr<const Instance>, std::vector<Value>>
      data_;
};

}  // namespace lwmi
