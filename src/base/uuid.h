// base/uuid.h — random (version 4) UUIDs in the "uuid:" form WS-Addressing and WS-Management
// use for message ids, enumeration contexts and subscription ids.
// Thread safety: safe to call from any thread.
#pragma once

#include <string>

namespace lwmi::base {

/// "uuid:xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" (lower-case hex, y one of 8 9 a b), from the
/// kernel's random source: enumeration contexts and subscription ids name another caller's
/// state, so they must not be guessable from the ids a client has seen.
std::string new_uuid();

}  // namespace lwmi::base
