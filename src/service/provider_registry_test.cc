#include "service/provider_registry.h"

#include <gtest/gtest.h>

namespace lwmi::service {
namespace {

using Role = ProviderRegistry::Role;

class NamedProvider : public provider::InstanceProvider {
 public:
  NamedProvider(std::string name, std::vector<std::string> ancestors) {
    auto c = std::make_shared<ClassDecl>();
    c->name = std::move(name);
    c->derivation = std::move(ancestors);
    cls_ = c;
  }
  std::shared_ptr<const ClassDecl> class_decl() const override { return cls_; }
  std::unique_ptr<InstanceStream> enumerate(const security::Caller&,
                                            const provider::Request&) override {
    return nullptr;
  }
  Result<Instance> get(const security::Caller&, const ObjectPath&,
                       const provider::Request&) override {
    return Error{WbemStatus::kNotFound, "none"};
  }

 private:
  std::shared_ptr<const ClassDecl> cls_;
};

TEST(ProviderRegistry, FindsAProviderByItsClassAndEveryAncestorCaseInsensitively) {
  ProviderRegistry r;
  auto p = std::make_shared<NamedProvider>("Win32_Process",
                                           std::vector<std::string>{"CIM_Process", "CIM_Root"});
  r.add(Role::kProcesses, p);
  for (const char* name : {"Win32_Process", "win32_process", "CIM_Process", "cim_root"}) {
    const auto* e = r.find(name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_EQ(e->provider, p) << name;
    EXPECT_EQ(e->role, Role::kProcesses);
  }
  EXPECT_EQ(r.find("Win32_Service"), nullptr) << "no provider answers for an unrelated class";
  EXPECT_EQ(r.find("Win32_Process", Role::kServed), nullptr) << "not of that role";
  EXPECT_EQ(r.find("Win32_Process", Role::kProcesses)->provider, p);
}

TEST(ProviderRegistry, EventSourcesThenServedInOrderThenProcessesAnswerASharedAncestor) {
  ProviderRegistry r;
  auto procs = std::make_shared<NamedProvider>("Proc", std::vector<std::string>{"Root"});
  auto served1 = std::make_shared<NamedProvider>("S1", std::vector<std::string>{"Root"});
  auto served2 = std::make_shared<NamedProvider>("S2", std::vector<std::string>{"Root"});
  auto events = std::make_shared<NamedProvider>("Ev", std::vector<std::string>{"Root"});
  // Registered in another order than they answer in.
  r.add(Role::kProcesses, procs);
  r.add(Role::kServed, served1);
  r.add(Role::kEventSources, events);
  r.add(Role::kServed, served2);
  EXPECT_EQ(r.find("Root")->provider, events);
  EXPECT_EQ(r.find("Root", Role::kServed)->provider, served1) << "served in the order served";
  EXPECT_EQ(r.find("S2")->provider, served2);
  EXPECT_EQ(r.find("Root", Role::kProcesses)->provider, procs);
  auto all = r.entries();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0]->provider, events);
  EXPECT_EQ(all[1]->provider, served1);
  EXPECT_EQ(all[2]->provider, served2);
  EXPECT_EQ(all[3]->provider, procs);
}

}  // namespace
}  // namespace lwmi::service
