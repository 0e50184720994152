#include "lwmi/method.h"

#include <memory>

namespace lwmi {

Instance out_parameters(const MethodResult& result) {
  auto cls = std::make_shared<ClassDecl>();
  cls->name = "__PARAMETERS";
  PropertyDecl rv;
  rv.name = "ReturnValue";
  rv.type = CimType::kUint32;
  cls->properties.push_back(rv);
  for (const auto& [n, v] : result.out) {
    PropertyDecl p;
    p.name = n;
    p.type = v.type();
    p.is_array = v.is_array();
    cls->properties.push_back(p);
  }
  Instance out(cls);
  out.set(0, Value::uint32(result.return_value));
  for (size_t i = 0; i < result.out.size(); ++i) out.set(i + 1, result.out[i].second);
  return out;
}

const char* return_value_text(uint32_t value) {
  switch (value) {
    case 0:
      return "Successful completion";
    case 2:
      return "Access denied";
    case 3:
      return "Insufficient privilege";
    case 8:
      return "Unknown failure";
    case 9:
      return "Path not found";
    case 21:
      return "Invalid parameter";
    default:
      return "Other";
  }
}

}  // namespace lwmi
