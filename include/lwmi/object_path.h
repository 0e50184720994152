// lwmi/object_path.h — WMI object paths: parse and format.
//
// Accepted forms (names case-insensitive, no whitespace):
//   Win32_Process.Handle="3168"          Win32_Process.Handle='3168'     Win32_Process.Handle=3168
//   Win32_Process="3168"                 {Win32_Process='1234'}          Class=@ (singleton)
//   Class.A=33,B="AAA"                   Win32_Process.Handle="3168",CreationDate="2026…+000"
//   \\.\root\cimv2:Win32_Process.Handle="3168"      //host/root/cimv2:Win32_Process.Handle="3168"
//   \\.\root\cimv2 (namespace path)      root\cimv2:Win32_Process (class path)
//   winmgmts:{impersonationLevel=impersonate,(Debug)}!\\.\root\cimv2:Win32_Process.Handle='0'
// Inside a quoted value, backslash escapes the next character (\" \' \\). Integer keys are
// decimal. A malformed path gives WBEM_E_INVALID_OBJECT_PATH with the position and the reason.
// Thread safety: plain value type.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lwmi/result.h"
#include "lwmi/value.h"

namespace lwmi {

/// One key binding; `name` is empty when the path left it out (Win32_Process="3168").
struct KeyBinding {
  std::string name;
  Value value;  ///< string (quoted), sint64/uint64 (bare decimal) or boolean (TRUE/FALSE)
};

class ObjectPath {
 public:
  /// Parses any of the forms above.
  static Result<ObjectPath> parse(std::string_view text);

  std::string server;          ///< "" when absent; "." is the local host
  std::string namespace_path;  ///< e.g. "root\\cimv2" (backslash-separated); "" when absent
  std::string class_name;      ///< "" for a namespace path
  std::vector<KeyBinding> keys;
  bool singleton = false;  ///< Class=@

  bool is_namespace_path() const { return class_name.empty(); }
  bool is_class_path() const { return !class_name.empty() && keys.empty() && !singleton; }
  bool is_instance_path() const { return !keys.empty() || singleton; }
  /// The binding named `name` (case-insensitive), or the single unnamed binding; nullptr if none.
  const KeyBinding* key(std::string_view name) const;

  /// Class[.Key=Value,…] with string values in double quotes and `\` / `"` escaped.
  std::string relative() const;
  /// \\server\namespace:relative when server / namespace are set, else relative().
  std::string to_string() const;
};

/// Case-insensitive equality of class name, namespace and keys (values compared as text).
bool same_path(const ObjectPath& a, const ObjectPath& b);

}  // namespace lwmi
