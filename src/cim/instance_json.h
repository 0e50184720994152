// cim/instance_json.h — an instance as one JSON object (DESIGN "Instances in JSON"): property
// names as the schema spells them, integers as numbers, NULL as null, DATETIME as its CIM text,
// embedded objects (TargetInstance) nested; __CLASS, __PATH and __SERVER always, the other system
// properties on request. lwmic's json format and a command consumer's stdin both use it.
// Thread safety: a pure function.
#pragma once

#include <string>

#include "lwmi/instance.h"

namespace lwmi::cim {

/// One line of JSON (no newline). Invalid UTF-8 in a string becomes U+FFFD.
std::string instance_json(const Instance& instance, bool all_system_properties);

}  // namespace lwmi::cim
