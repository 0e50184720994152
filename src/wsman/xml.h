// wsman/xml.h — small namespace-aware helpers over libxml2's tree, shared by the server codec
// (envelope_decode.cc, envelope_encode.cc, cim_xml.cc) and the client codec (client_codec.cc).
// Thread safety: pure functions over a document the caller owns.
#pragma once

#include <libxml/tree.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lwmi::wsman::xml {

/// Initialises libxml2 once per process, thread-safely; call before parsing.
void init();

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using Doc = std::unique_ptr<xmlDoc, DocFree>;

/// The namespace URI of an element ("" when it has none).
inline const char* href(const xmlNode* n) {
  return n && n->ns && n->ns->href ? reinterpret_cast<const char*>(n->ns->href) : "";
}
/// The local name of an element.
inline const char* local(const xmlNode* n) {
  return reinterpret_cast<const char*>(n->name);
}

/// True when `n` is the element {ns}name.
inline bool is(const xmlNode* n, const char* ns, const char* name) {
  return n && n->type == XML_ELEMENT_NODE && std::strcmp(href(n), ns) == 0 &&
         std::strcmp(local(n), name) == 0;
}

/// The element children of `n`.
inline std::vector<xmlNode*> elements(const xmlNode* n) {
  std::vector<xmlNode*> out;
  if (!n) return out;
  for (xmlNode* c = n->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE) out.push_back(c);
  return out;
}

/// The first child element {ns}name of `n`, or nullptr.
inline xmlNode* child(const xmlNode* n, const char* ns, const char* name) {
  if (!n) return nullptr;
  for (xmlNode* c = n->children; c; c = c->next)
    if (is(c, ns, name)) return c;
  return nullptr;
}

/// The text content of `n`, untrimmed.
inline std::string raw_text(const xmlNode* n) {
  xmlChar* c = xmlNodeGetContent(n);
  if (!c) return {};
  std::string s(reinterpret_cast<const char*>(c));
  xmlFree(c);
  return s;
}

/// An attribute (in namespace `ns` when given).
inline std::optional<std::string> attr(const xmlNode* n, const char* name,
                                       const char* ns = nullptr) {
  xmlChar* v = ns ? xmlGetNsProp(n, BAD_CAST name, BAD_CAST ns) : xmlGetNoNsProp(n, BAD_CAST name);
  if (!v) return std::nullopt;
  std::string s(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return s;
}

/// Appends `s` escaped for XML text or a double-quoted attribute. Invalid UTF-8 and characters
/// XML 1.0 cannot carry (C0 controls other than tab/LF/CR) become U+FFFD.
void escape(std::string& out, std::string_view s);
/// `s` escaped as escape() does it, as a new string.
std::string escaped(std::string_view s);

}  // namespace lwmi::wsman::xml
