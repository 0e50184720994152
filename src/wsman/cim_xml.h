// wsman/cim_xml.h — class definitions as CIM-XML (DMTF DSP0201), the body of a GetClass
// response (WS-Man Get on the cim-xml resource URI, as the Windows MI client asks for a class):
// lwmid writes them, the client codec reads them back.
// Thread safety: pure functions.
#pragma once

#include <libxml/tree.h>

#include <memory>
#include <string>

#include "lwmi/class_decl.h"
#include "lwmi/result.h"

namespace lwmi::wsman {

/// <CLASS NAME= SUPERCLASS=> with its qualifiers (Abstract and Description from their fields),
/// properties (PROPERTY, PROPERTY.ARRAY, PROPERTY.REFERENCE with CLASSORIGIN and PROPAGATED; Key,
/// MaxLen, Units, Privileges, EmbeddedInstance, Description as qualifiers) and methods (their
/// origin the farthest ancestor in the built-in schema that declares them) with parameters.
std::string class_cimxml(const ClassDecl& cls);

/// A CLASS element read back: its superclass, qualifiers (Abstract, Description into their
/// fields), properties (type, array, reference class, origin; Key, MaxLen, Units, Privileges,
/// EmbeddedInstance and Description into their fields, every qualifier but Description and
/// EmbeddedInstance kept in the list, as the schema loader keeps them), methods (Static,
/// Privileges, Description into fields; ValueMap and the others kept) and their parameters (In,
/// Out, EmbeddedInstance, Description into fields). CIM-XML does not carry the derivation beyond
/// the superclass: the caller fills it. An Error (WBEM_E_FAILED) says what is malformed.
Result<std::shared_ptr<ClassDecl>> class_from_cimxml(const xmlNode* cls);

}  // namespace lwmi::wsman
