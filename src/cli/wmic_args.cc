#include "cli/wmic_args.h"

#include <cctype>

#include "base/strings.h"

namespace lwmi::cli {

std::vector<std::string> translate_wmic_switches(const std::vector<std::string>& args,
                                                 std::vector<std::string>* notes) {
  static const char* const kSwitches[][2] = {
      {"/format:", "--format="},       {"/node:", "--node="},
      {"/user:", "--user="},           {"/password:", "--password="},
      {"/namespace:", "--namespace="}, {"/output:", "--output="},
      {"/append:", "--append="},       {"/privileges:", "--privileges="},
      {"/every:", "--every="},         {"/repeat:", "--repeat="},
  };
  // wmic's switches with no meaning for lwmi: accepted, said, dropped.
  static const char* const kIgnored[][2] = {
      {"/interactive", "lwmic never prompts before a change (--dry-run shows what it would do)"},
      {"/failfast", "lwmic's --connect-timeout bounds how long an unreachable host is tried"},
      {"/locale", "lwmic's messages are in English"},
      {"/trace", "lwmic reports every error as it happens"},
      {"/role", "lwmic's namespace is set with --namespace"},
      {"/authlevel", "lwmid authenticates over HTTPS with PAM; there is no DCOM level"},
      {"/impersonation", "lwmid always acts with the caller's own rights"},
      {"/aggregate", "lwmic aggregates the output of several hosts already"},
      {"/record", "lwmic keeps no record file; the audit log is lwmid's"},
  };
  std::vector<std::string> out;
  out.reserve(args.size());
  for (const auto& a : args) {
    if (base::iequals(a, "/value")) {  // get … /value: Name=Value lines
      out.push_back("--format=list");
      continue;
    }
    bool ignored = false;
    for (const auto& s : kIgnored) {
      const std::string_view name = s[0];
      if (a.size() >= name.size() &&
          base::iequals(std::string_view(a).substr(0, name.size()), name) &&
          (a.size() == name.size() || a[name.size()] == ':')) {
        if (notes) notes->push_back(a + " is accepted and has no effect here: " + s[1]);
        ignored = true;
        break;
      }
    }
    if (ignored) continue;
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

namespace {

// Name=Value (or Param.Prop=Value): a name of letters, digits, '_' and '.' before the '='.
bool is_assignment(const std::string& word) {
  const size_t eq = word.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  for (size_t i = 0; i < eq; ++i) {
    const char c = word[i];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
  }
  return true;
}

std::string unquoted(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"' && s.find('"', 1) == s.size() - 1)
    return s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

std::vector<std::string> split_wmic_arguments(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const auto& word : args) {
    if (is_assignment(word)) {
      out.push_back(word);
      continue;
    }
    std::vector<std::string> parts(1);
    bool quoted = false;
    for (char c : word) {
      if (c == '"') quoted = !quoted;
      if (c == ',' && !quoted) {
        parts.emplace_back();
        continue;
      }
      parts.back() += c;
    }
    if (parts.size() == 1) {
      out.push_back(word);
      continue;
    }
    for (auto& p : parts) out.push_back(unquoted(std::move(p)));
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
