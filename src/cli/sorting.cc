#include "cli/sorting.h"

#include <algorithm>
#include <utility>

#include "base/strings.h"
#include "lwmi/datetime.h"

namespace lwmi::cli {
namespace {

/// -1, 0, 1 for two non-NULL values of one instance property.
int compare_values(const Value& a, const Value& b) {
  auto sign = [](auto x, auto y) { return x < y ? -1 : y < x ? 1 : 0; };
  CimType ta = a.type(), tb = b.type();
  if (!a.is_array() && !b.is_array()) {
    if (is_integer(ta) && is_integer(tb)) {
      bool na = is_signed_integer(ta) && a.as_i64() < 0;
      bool nb = is_signed_integer(tb) && b.as_i64() < 0;
      if (na != nb) return na ? -1 : 1;
      if (na) return sign(a.as_i64(), b.as_i64());
      // Both non-negative: compare as unsigned so that uint64 above INT64_MAX orders right.
      uint64_t ua = is_signed_integer(ta) ? static_cast<uint64_t>(a.as_i64()) : a.as_u64();
      uint64_t ub = is_signed_integer(tb) ? static_cast<uint64_t>(b.as_i64()) : b.as_u64();
      return sign(ua, ub);
    }
    if ((is_integer(ta) || is_real(ta)) && (is_integer(tb) || is_real(tb)))
      return sign(a.as_real(), b.as_real());
    if (ta == CimType::kBoolean && tb == CimType::kBoolean) return sign(a.as_bool(), b.as_bool());
    if (ta == CimType::kDatetime && tb == CimType::kDatetime) {
      auto da = DateTime::parse(a.as_string()), db = DateTime::parse(b.as_string());
      if (da.ok() && db.ok())
        if (auto c = da->compare(*db)) return *c < 0 ? -1 : *c > 0 ? 1 : 0;
    }
  }
  int c = base::icompare(a.to_text(), b.to_text());
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

/// The value to sort by; nullopt for NULL or a property the instance lacks.
std::optional<Value> sort_value(const Instance& inst, const std::string& name) {
  auto v = inst.get(name);
  if (!v || v->is_null()) return std::nullopt;
  return v;
}

class LimitFormatter : public Formatter {
 public:
  LimitFormatter(std::unique_ptr<Formatter> inner, size_t limit)
      : inner_(std::move(inner)), limit_(limit) {}
  void begin(const std::vector<std::string>& columns) override { inner_->begin(columns); }
  void add(const Instance& inst) override {
    if (count_ >= limit_) return;
    ++count_;
    inner_->add(inst);
  }
  void end() override { inner_->end(); }
  bool wants_more() const override { return count_ < limit_ && inner_->wants_more(); }

 private:
  std::unique_ptr<Formatter> inner_;
  size_t limit_;
  size_t count_ = 0;
};

class SortingFormatter : public Formatter {
 public:
  SortingFormatter(std::unique_ptr<Formatter> inner, SortSpec spec)
      : inner_(std::move(inner)), spec_(std::move(spec)) {}
  void begin(const std::vector<std::string>& columns) override { inner_->begin(columns); }
  void add(const Instance& inst) override {
    if (spec_.limit == 0) return;
    rows_.push_back({seq_++, inst});
    // With a limit only the best `limit` can ever be shown: trim when the buffer doubles, so
    // that memory stays bounded by the limit, not by the number of instances.
    if (spec_.limit && rows_.size() >= 2 * *spec_.limit + 16) trim(*spec_.limit);
  }
  void end() override {
    std::sort(rows_.begin(), rows_.end(), less());
    if (spec_.limit && rows_.size() > *spec_.limit) rows_.resize(*spec_.limit);
    for (const auto& r : rows_) inner_->add(r.instance);
    rows_.clear();
    inner_->end();
  }

 private:
  struct Row {
    size_t seq;  ///< arrival order: ties keep it, which makes the sort stable
    Instance instance;
  };

  /// The order to show rows in; a strict total order, since ties fall back on `seq`.
  struct Less {
    const std::vector<SortKey>* keys;
    bool operator()(const Row& a, const Row& b) const {
      if (sorts_before(a.instance, b.instance, *keys)) return true;
      if (sorts_before(b.instance, a.instance, *keys)) return false;
      return a.seq < b.seq;
    }
  };
  Less less() const { return Less{&spec_.keys}; }

  void trim(size_t keep) {
    std::nth_element(rows_.begin(), rows_.begin() + keep, rows_.end(), less());
    rows_.resize(keep);
  }

  std::unique_ptr<Formatter> inner_;
  SortSpec spec_;
  size_t seq_ = 0;
  std::vector<Row> rows_;
};

}  // namespace

Result<std::vector<SortKey>> parse_sort_keys(std::string_view text) {
  std::vector<SortKey> keys;
  for (std::string_view part : base::split(text, ',')) {
    part = base::trim(part);
    SortKey key;
    if (auto colon = part.find(':'); colon != std::string_view::npos) {
      std::string_view dir = base::trim(part.substr(colon + 1));
      if (base::iequals(dir, "desc")) {
        key.descending = true;
      } else if (!base::iequals(dir, "asc")) {
        return Error{WbemStatus::kInvalidParameter, "sort order '" + std::string(dir) + "' in '" +
                                                        std::string(part) + "': use asc or desc"};
      }
      part = base::trim(part.substr(0, colon));
    }
    if (part.empty())
      return Error{WbemStatus::kInvalidParameter,
                   "empty property name in sort specification '" + std::string(text) + "'"};
    key.property = std::string(part);
    keys.push_back(std::move(key));
  }
  return keys;
}

Result<void> validate_sort(SortSpec& spec, const ClassDecl& cls) {
  static constexpr const char* kSystem[] = {
      "__GENUS",          "__CLASS",      "__SUPERCLASS", "__DYNASTY",   "__RELPATH",
      "__PROPERTY_COUNT", "__DERIVATION", "__SERVER",     "__NAMESPACE", "__PATH"};
  for (SortKey& k : spec.keys) {
    if (const PropertyDecl* p = cls.property(k.property)) {
      k.property = p->name;
      continue;
    }
    auto sys = std::find_if(std::begin(kSystem), std::end(kSystem),
                            [&](const char* s) { return base::iequals(s, k.property); });
    if (sys != std::end(kSystem)) {
      k.property = *sys;
      continue;
    }
    return Error{WbemStatus::kInvalidProperty, "cannot sort by '" + k.property + "': class " +
                                                   cls.name + " has no such property"};
  }
  return {};
}

std::vector<std::string> with_sort_properties(const std::vector<std::string>& properties,
                                              const SortSpec& spec) {
  if (properties.empty()) return {};
  std::vector<std::string> out = properties;
  for (const SortKey& k : spec.keys) {
    bool present = std::any_of(out.begin(), out.end(),
                               [&](const std::string& p) { return base::iequals(p, k.property); });
    if (!present) out.push_back(k.property);
  }
  return out;
}

bool sorts_before(const Instance& a, const Instance& b, const std::vector<SortKey>& keys) {
  for (const SortKey& k : keys) {
    auto va = sort_value(a, k.property), vb = sort_value(b, k.property);
    if (!va || !vb) {
      if (!va && !vb) continue;
      return vb == std::nullopt;  // NULL last, whatever the direction
    }
    int c = compare_values(*va, *vb);
    if (c != 0) return k.descending ? c > 0 : c < 0;
  }
  return false;
}

std::unique_ptr<Formatter> make_sorting_formatter(std::unique_ptr<Formatter> inner, SortSpec spec) {
  if (spec.keys.empty() && !spec.limit) return inner;
  if (spec.keys.empty()) return std::make_unique<LimitFormatter>(std::move(inner), *spec.limit);
  return std::make_unique<SortingFormatter>(std::move(inner), std::move(spec));
}

}  // namespace lwmi::cli
