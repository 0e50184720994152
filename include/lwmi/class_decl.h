// lwmi/class_decl.h — CIM class declarations as data: properties, methods, qualifiers, ancestry.
//
// Declarations are loaded from the schema files (schema/*.json) and are immutable afterwards.
// A ClassDecl lists its own and inherited properties, flattened in declaration order (ancestors
// first), so that a property's index is stable for every instance of the class.
// Thread safety: immutable; share freely.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lwmi/value.h"

namespace lwmi {

struct Qualifier {
  std::string name;
  Value value;  ///< boolean TRUE for flag qualifiers such as Key, Static, In, Out
};

struct PropertyDecl {
  std::string name;
  CimType type = CimType::kString;
  bool is_array = false;
  bool key = false;
  std::string embedded_class;  ///< for object / reference types: the class it holds, if fixed
  std::string units;           ///< e.g. "bytes", "kilobytes", "100 nanoseconds"
  std::optional<uint32_t> max_len;
  std::vector<std::string> privileges;  ///< Privileges("SeDebugPrivilege")
  std::string description;
  std::string origin;  ///< the class that declares it
  std::vector<Qualifier> qualifiers;
};

struct ParameterDecl {
  std::string name;
  CimType type = CimType::kString;
  bool is_array = false;
  bool in = false;
  bool out = false;
  std::string embedded_class;  ///< for object parameters (Win32_ProcessStartup)
  std::string description;
  std::vector<Qualifier> qualifiers;  ///< ValueMap / Values of an enumerated parameter…
};

struct MethodDecl {
  std::string name;
  CimType return_type = CimType::kUint32;
  bool is_static = false;
  std::vector<ParameterDecl> parameters;  ///< in declaration order
  std::vector<std::string> privileges;
  std::string description;
  /// Declared qualifiers: ValueMap / Values name the ReturnValue codes ("0", "2"… and ".." for
  /// any other value).
  std::vector<Qualifier> qualifiers;
  const ParameterDecl* parameter(std::string_view name) const;  ///< case-insensitive
  const Qualifier* qualifier(std::string_view name) const;      ///< case-insensitive
};

class ClassDecl {
 public:
  std::string name;
  /// The namespace that holds the class, backslash-separated ("root\\cimv2",
  /// "root\\subscription"): the schema document's "namespace".
  std::string namespace_path = "root\\cimv2";
  std::string superclass;               ///< "" for a root class
  std::vector<std::string> derivation;  ///< ancestors, nearest first (__DERIVATION)
  bool abstract = false;
  std::string description;
  std::vector<Qualifier> qualifiers;
  std::vector<PropertyDecl> properties;  ///< inherited first, then own
  std::vector<MethodDecl> methods;

  /// Index of a property by name (case-insensitive); nullopt when the class has none.
  std::optional<size_t> property_index(std::string_view name) const;
  const PropertyDecl* property(std::string_view name) const;
  const MethodDecl* method(std::string_view name) const;
  /// True when this class is `cls` or derives from it (case-insensitive): WQL's ISA.
  bool is_a(std::string_view cls) const;
  /// The root of the hierarchy (__DYNASTY).
  const std::string& dynasty() const { return derivation.empty() ? name : derivation.back(); }
  /// Indices of the [Key] properties.
  std::vector<size_t> key_indices() const;
  const Qualifier* qualifier(std::string_view name) const;
  /// True when `ns` names the class's namespace: case-insensitive, '/' or '\\' separated,
  /// leading separators ignored ("root/subscription", "\\root\\subscription").
  bool in_namespace(std::string_view ns) const { return same_namespace(namespace_path, ns); }
  /// Namespace names compared as in_namespace() does.
  static bool same_namespace(std::string_view a, std::string_view b);
};

}  // namespace lwmi
