// cli/class_help.h — a class described for a terminal, as Get-CimClass and `wmic process get /?`
// describe one: its place in the hierarchy, its properties with their types, units and access,
// its methods with their parameters and return codes; and a namespace's classes, one a line.
//
// Pure presentation over ClassDecl (from Services::get_class / enumerate_classes, local or
// remote). Every text a class declares (names, descriptions, qualifier values) may come from
// a server and is shown as display_text() shows it, so it can neither add lines nor reach the
// terminal as a control sequence. Columns are aligned; descriptions wrap at the given width.
// Thread safety: pure functions.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "lwmi/class_decl.h"

namespace lwmi::cli {

struct ClassHelpOptions {
  /// Lines wrap before this many characters (a description always keeps 30 of them).
  size_t width = 100;
  /// The sections describe_class() prints after the header: wmic's `get /?` shows the
  /// properties, `call /?` the methods.
  bool properties = true;
  bool methods = true;
};

/// What a method's ReturnValue codes mean, in order: from its ValueMap / Values qualifiers
/// ("Successful completion" for "0", "Other" for ".."), else, for Win32_Process and its
/// subclasses, the table every Win32_Process method page shares (0, 2, 3, 8, 9, 21); else none.
std::vector<std::pair<std::string, std::string>> return_codes(const ClassDecl& cls,
                                                              const MethodDecl& method);

/// The class: name, superclass and derivation, namespace, description; each property (name,
/// CIM type, units, key / read-only, privileges, description, enumerated values); each method
/// (static or not, description, in- and out-parameters with their types, return codes).
void describe_class(const ClassDecl& cls, std::ostream& out, const ClassHelpOptions& options = {});

/// A namespace's classes, one a line: name, superclass, the first sentence of the description.
void list_classes(const std::vector<std::shared_ptr<const ClassDecl>>& classes, std::ostream& out,
                  const ClassHelpOptions& options = {});

}  // namespace lwmi::cli
