#include "lwmi/class_decl.h"

#include <cctype>

#include "base/strings.h"

namespace lwmi {

namespace {
std::string_view strip_leading_separators(std::string_view s) {
  while (!s.empty() && (s.front() == '\\' || s.front() == '/')) s.remove_prefix(1);
  return s;
}
}  // namespace

bool ClassDecl::same_namespace(std::string_view a, std::string_view b) {
  a = strip_leading_separators(a);
  b = strip_leading_separators(b);
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto fold = [](char c) {
      return c == '/' ? '\\' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    };
    if (fold(a[i]) != fold(b[i])) return false;
  }
  return true;
}

const ParameterDecl* MethodDecl::parameter(std::string_view n) const {
  for (const auto& p : parameters)
    if (base::iequals(p.name, n)) return &p;
  return nullptr;
}

const Qualifier* MethodDecl::qualifier(std::string_view n) const {
  for (const auto& q : qualifiers)
    if (base::iequals(q.name, n)) return &q;
  return nullptr;
}

std::optional<size_t> ClassDecl::property_index(std::string_view n) const {
  for (size_t i = 0; i < properties.size(); ++i)
    if (base::iequals(properties[i].name, n)) return i;
  return std::nullopt;
}

const PropertyDecl* ClassDecl::property(std::string_view n) const {
  auto i = property_index(n);
  return i ? &properties[*i] : nullptr;
}

const MethodDecl* ClassDecl::method(std::string_view n) const {
  for (const auto& m : methods)
    if (base::iequals(m.name, n)) return &m;
  return nullptr;
}

bool ClassDecl::is_a(std::string_view cls) const {
  if (base::iequals(name, cls)) return true;
  for (const auto& d : derivation)
    if (base::iequals(d, cls)) return true;
  return false;
}

std::vector<size_t> ClassDecl::key_indices() const {
  std::vector<size_t> out;
  for (size_t i = 0; i < properties.size(); ++i)
    if (properties[i].key) out.push_back(i);
  return out;
}

const Qualifier* ClassDecl::qualifier(std::string_view n) const {
  for (const auto& q : qualifiers)
    if (base::iequals(q.name, n)) return &q;
  return nullptr;
}

}  // namespace lwmi
