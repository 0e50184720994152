#include "cli/wmic_args.h"

#include "base/strings.h"

namespace lwmi::cli {

std::vector<std::string> translate_wmic_switches(const std::vector<std::string>& args) {
  static const char* const kSwitches[][2] = {
      {"/format:", "--format="},     {"/node:", "--node="},           {"/user:", "--user="},
      {"/password:", "--password="}, {"/namespace:", "--namespace="},
  };
  std::vector<std::string> out;
  out.reserve(args.size());
  for (const auto& a : args) {
    std::string rewritten = a;
    for (const auto& s : kSwitches) {
      std::string_view prefix = s[0];
      if (a.size() >= prefix.size() &&
          base::iequals(std::string_view(a).substr(0, prefix.size()), prefix)) {
        rewritten = std::string(s[1]) + a.substr(prefix.size());
        break;
      }
    }
    out.push_back(std::move(rewritten));
  }
  return out;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  for (auto part : base::split(text, ',')) {
    auto t = base::trim(part);
    if (!t.empty()) out.emplace_back(t);
  }
  return out;
}

std::vector<std::string> property_list(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (const auto& w : words)
    for (auto& p : split_list(w)) {
      if (p == "*") return {};
      out.push_back(std::move(p));
    }
  return out;
}

}  // namespace lwmi::cli
