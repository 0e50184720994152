#include "lwmi/instance.h"

#include "base/strings.h"

namespace lwmi {

Instance::Instance(std::shared_ptr<const ClassDecl> cls) : cls_(std::move(cls)) {
  values_.reserve(cls_->properties.size());
  for (const auto& p : cls_->properties) values_.push_back(Value::null(p.type, p.is_array));
  present_.assign(cls_->properties.size(), false);
}

Instance Instance::class_object(std::shared_ptr<const ClassDecl> cls) {
  Instance c(std::move(cls));
  c.is_class_ = true;
  c.namespace_ = c.cls_->namespace_path;
  ObjectPath id;
  id.class_name = c.cls_->name;
  id.namespace_path = c.cls_->namespace_path;
  c.identity_ = std::move(id);
  return c;
}

void Instance::set(size_t index, Value v) {
  if (index >= values_.size()) return;
  values_[index] = std::move(v);
  present_[index] = true;
}

bool Instance::set(std::string_view name, Value v) {
  auto i = cls_->property_index(name);
  if (!i) return false;
  set(*i, std::move(v));
  return true;
}

const Value& Instance::at(size_t index) const {
  static const Value kNull;
  return index < values_.size() ? values_[index] : kNull;
}

size_t Instance::property_count() const {
  size_t n = 0;
  for (bool b : present_) n += b;
  return n;
}

std::optional<std::string> Instance::relpath() const {
  if (!cls_) return std::nullopt;
  if (is_class_) return cls_->name;  // a class path is its name
  ObjectPath p;
  p.class_name = cls_->name;
  for (size_t k : cls_->key_indices()) {
    if (!has(k) || values_[k].is_null()) return std::nullopt;
    p.keys.push_back({cls_->properties[k].name, values_[k]});
  }
  if (p.keys.empty()) return std::nullopt;
  return p.relative();
}

std::optional<std::string> Instance::path() const {
  auto rel = relpath();
  if (!rel) return std::nullopt;
  return "\\\\" + (server_.empty() ? std::string(".") : server_) + "\\" + namespace_ + ":" + *rel;
}

std::optional<Value> Instance::get(std::string_view name) const {
  if (!cls_) return std::nullopt;
  if (name.size() > 2 && name[0] == '_' && name[1] == '_') {
    for (auto& [n, v] : system_properties())
      if (base::iequals(n, name)) return v;
    return std::nullopt;
  }
  auto i = cls_->property_index(name);
  if (!i || !present_[*i]) return std::nullopt;
  return values_[*i];
}

std::vector<std::pair<std::string, Value>> Instance::properties() const {
  std::vector<std::pair<std::string, Value>> out;
  for (size_t i = 0; i < values_.size(); ++i)
    if (present_[i]) out.emplace_back(cls_->properties[i].name, values_[i]);
  return out;
}

std::vector<std::pair<std::string, Value>> Instance::system_properties() const {
  auto opt_string = [](const std::optional<std::string>& s) {
    return s ? Value::string(*s) : Value::null(CimType::kString);
  };
  std::vector<Value> derivation;
  for (const auto& d : cls_->derivation) derivation.push_back(Value::string(d));
  return {
      {"__GENUS", Value::sint32(is_class_ ? 1 : 2)},
      {"__CLASS", Value::string(cls_->name)},
      {"__SUPERCLASS",
       cls_->superclass.empty() ? Value::null(CimType::kString) : Value::string(cls_->superclass)},
      {"__DYNASTY", Value::string(cls_->dynasty())},
      {"__RELPATH", opt_string(relpath())},
      {"__PROPERTY_COUNT",
       Value::sint32(static_cast<int32_t>(is_class_ ? cls_->properties.size() : property_count()))},
      {"__DERIVATION", Value::array(CimType::kString, std::move(derivation))},
      {"__SERVER", Value::string(server_.empty() ? std::string(".") : server_)},
      {"__NAMESPACE", Value::string(namespace_)},
      {"__PATH", opt_string(path())},
  };
}

}  // namespace lwmi
