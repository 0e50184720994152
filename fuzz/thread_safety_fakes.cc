// The test fakes that hold a mutex, for clang's thread-safety analysis in the fuzz build (the
// tests that use them are not built there). service/testing/fake_served_class.h is not here:
// clang 14 cannot compile its lambda that captures a structured binding.
#include "os/testing/fake_accounts.h"
#include "security/testing/fake_pam.h"
