// lwmi/method.h — method calls: in-parameters and the result (ReturnValue + out-parameters).
//
// A method's ReturnValue (0 success, 2 access denied, 3 insufficient privilege, 8 unknown
// failure, 9 path not found, 21 invalid parameter) is data, not an error: an Error is returned
// only when the call could not be made (bad path, unknown method, no such instance…).
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lwmi/instance.h"
#include "lwmi/value.h"

namespace lwmi {

/// In-parameters by name. A string value is converted to the parameter's declared type; a name
/// "Param.Prop" sets a property of an embedded-object parameter (ProcessStartupInformation.
/// PriorityClass); a repeated name appends to an array parameter.
using Parameters = std::vector<std::pair<std::string, Value>>;

struct MethodResult {
  uint32_t return_value = 0;
  Parameters out;                  ///< out-parameters other than ReturnValue, in declaration order
  std::vector<std::string> notes;  ///< what the caller should know (an unconfirmed exit…)
};

/// The result as WMI returns a method's out-parameters: an instance of __PARAMETERS holding
/// ReturnValue (uint32) first, then each out-parameter with its value's type.
Instance out_parameters(const MethodResult& result);

/// "Successful completion", "Access denied", … for the shared return codes.
const char* return_value_text(uint32_t value);

}  // namespace lwmi
