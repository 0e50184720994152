// wsman/testing/envelopes.h — for the codec's tests: the interop captures kept in
// tests/fixtures/wsman-captures, decoding that must succeed or fault, and an XPath view of an
// encoded envelope (prefixes s, a, w, n, e, xsi, cim, wsmid, f and the test classes' p, t, st, d).
#pragma once

#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "wsman/envelope.h"

namespace lwmi::wsman::testing {

namespace fs = std::filesystem;

// The real clients' requests, kept in the repository (tests/fixtures/wsman-captures).
inline std::optional<fs::path> captures_dir() {
  fs::path p = std::string(LWMI_SOURCE_DIR) + "/tests/fixtures/wsman-captures";
  if (fs::is_directory(p / "microsoft")) return p;
  return std::nullopt;
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

#define CAPTURES_DIR(var)                                                               \
  auto var##_opt = ::lwmi::wsman::testing::captures_dir();                              \
  ASSERT_TRUE(var##_opt) << "tests/fixtures/wsman-captures is missing from the source"; \
  const ::std::filesystem::path& var = *var##_opt

inline Request decode_ok(const std::string& xml) {
  auto r = decode(xml);
  if (auto* f = std::get_if<Fault>(&r)) {
    ADD_FAILURE() << "fault " << f->subcode << ": " << f->reason;
    return {};
  }
  return std::get<Request>(std::move(r));
}

inline Request decode_capture(const fs::path& dir, const std::string& name) {
  return decode_ok(read_file(dir / name));
}

inline Fault decode_fault(const std::string& xml) {
  auto r = decode(xml);
  if (!std::holds_alternative<Fault>(r)) {
    ADD_FAILURE() << "expected a fault";
    return {};
  }
  return std::get<Fault>(r);
}

inline std::string selector(const Request& r, const std::string& name) {
  for (const auto& s : r.selectors)
    if (s.name == name) return s.value;
  return "<absent>";
}

class Xml {
 public:
  explicit Xml(const std::string& text) {
    doc_ = xmlReadMemory(text.data(), static_cast<int>(text.size()), nullptr, nullptr,
                         XML_PARSE_NONET);
    if (!doc_) return;
    ctx_ = xmlXPathNewContext(doc_);
    const std::pair<const char*, const char*> prefixes[] = {
        {"s", ns::kSoap},
        {"a", ns::kAddressing},
        {"w", ns::kWsman},
        {"n", ns::kEnumeration},
        {"e", ns::kEventing},
        {"xsi", ns::kXsi},
        {"cim", ns::kCim},
        {"wsmid", ns::kIdentity},
        {"f", "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"},
        {"p", "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Process"},
        {"t", "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Test_Thing"},
        {"st", "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Test_Sub"},
        {"d", "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Win32_Process"},
    };
    for (auto [p, u] : prefixes) xmlXPathRegisterNs(ctx_, BAD_CAST p, BAD_CAST u);
  }
  ~Xml() {
    if (ctx_) xmlXPathFreeContext(ctx_);
    if (doc_) xmlFreeDoc(doc_);
  }
  bool ok() const { return doc_ != nullptr; }

  std::vector<std::string> all(const std::string& expr) const {
    std::vector<std::string> out;
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr.c_str(), ctx_);
    if (!o) {
      ADD_FAILURE() << "bad xpath " << expr;
      return out;
    }
    if (o->nodesetval)
      for (int i = 0; i < o->nodesetval->nodeNr; ++i) {
        xmlChar* c = xmlNodeGetContent(o->nodesetval->nodeTab[i]);
        out.emplace_back(c ? reinterpret_cast<const char*>(c) : "");
        xmlFree(c);
      }
    xmlXPathFreeObject(o);
    return out;
  }
  std::string one(const std::string& expr) const {
    auto v = all(expr);
    if (v.size() != 1) {
      ADD_FAILURE() << expr << " matched " << v.size() << " nodes";
      return "<none>";
    }
    return v[0];
  }
  size_t count(const std::string& expr) const { return all(expr).size(); }

 private:
  xmlDocPtr doc_ = nullptr;
  xmlXPathContextPtr ctx_ = nullptr;
};

}  // namespace lwmi::wsman::testing
