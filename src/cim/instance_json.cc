#include "cim/instance_json.h"

#include <nlohmann/json.hpp>

namespace lwmi::cim {
namespace {

using nlohmann::ordered_json;

ordered_json to_json(const Value& v);

ordered_json object_json(const Instance& inst, bool all_system) {
  ordered_json o = ordered_json::object();
  for (auto& [name, v] : inst.system_properties()) {
    bool always = name == "__CLASS" || name == "__PATH" || name == "__SERVER";
    // A class object has no values: its system properties are what it says.
    if (always || all_system || inst.is_class()) o[name] = to_json(v);
  }
  for (auto& [name, v] : inst.properties()) o[name] = to_json(v);
  return o;
}

ordered_json to_json(const Value& v) {
  if (v.is_null()) return nullptr;
  if (v.is_array()) {
    ordered_json a = ordered_json::array();
    for (const auto& e : v.elements()) a.push_back(to_json(e));
    return a;
  }
  CimType t = v.type();
  if (t == CimType::kBoolean) return v.as_bool();
  if (is_unsigned_integer(t)) return v.as_u64();
  if (is_signed_integer(t)) return v.as_i64();
  if (is_real(t)) return v.as_real();
  if (t == CimType::kObject) return object_json(*v.as_object(), false);
  return v.as_string();
}

}  // namespace

std::string instance_json(const Instance& instance, bool all_system_properties) {
  return object_json(instance, all_system_properties)
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace lwmi::cim
