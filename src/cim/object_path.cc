// placeholder: being written
#include "lwmi/object_path.h"
namespace lwmi {
Result<ObjectPath> ObjectPath::parse(std::string_view) { return Error{WbemStatus::kNotSupported, "todo", {}}; }
const KeyBinding* ObjectPath::key(std::string_view) const { return nullptr; }
std::string ObjectPath::relative() const { return class_name; }
std::string ObjectPath::to_string() const { return class_name; }
bool same_path(const ObjectPath&, const ObjectPath&) { return false; }
}
