#include "provider/provider.h"

namespace lwmi::provider {

Result<PropertySet> PropertySet::of(const ClassDecl& cls, const std::vector<std::string>& names) {
  PropertySet set;
  set.bits_.assign(cls.properties.size(), false);
  for (const auto& n : names) {
    auto i = cls.property_index(n);
    if (!i)
      return Error{WbemStatus::kInvalidProperty,
                   "class " + cls.name + " has no property '" + n + "'"};
    set.bits_[*i] = true;
  }
  if (names.empty()) set.bits_.clear();
  return set;
}

void PropertySet::add(size_t index) {
  if (bits_.empty()) return;  // already all
  if (index < bits_.size()) bits_[index] = true;
}

}  // namespace lwmi::provider
