#include "core/admin.h"

#include <string>

#include "core/memory_txn.h"
#include "core/test_fixtures.h"
#include "core/text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fieldledger {
namespace {

using fixtures::kNow;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class EnrollmentTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fixtures::SeedRegistry(txn_).ok()); }

  absl::StatusOr<v1::CreateEnrollmentCodeResponse> Code(
      v1::Role role, std::string scope = "") {
    v1::CreateEnrollmentCodeRequest request;
    request.set_role(role);
    request.set_scope(std::move(scope));
    return CreateEnrollmentCode(txn_, request, kNow);
  }

  // Enrolls with a fresh code and returns the stored principal.
  v1::Principal EnrollAs(v1::Role role, std::string scope = "") {
    auto code = Code(role, scope);
    EXPECT_TRUE(code.ok()) << code.status();
    auto enrolled = Enroll(txn_, code->code(), kNow);
    EXPECT_TRUE(enrolled.ok()) << enrolled.status();
    EXPECT_EQ(enrolled->role(), role);
    EXPECT_EQ(enrolled->scope(), scope);
    return txn_.principals.at(Sha256(enrolled->token()));
  }

  MemoryTxn txn_;
};

TEST_F(EnrollmentTest, EveryRoleGetsItsScopeAndName) {
  v1::Principal inspector = EnrollAs(v1::ROLE_INSPECTOR);
  EXPECT_THAT(inspector.name(), StartsWith("i-"));
  EXPECT_FALSE(inspector.client_id().empty());
  EXPECT_TRUE(inspector.scope().empty());

  v1::Principal supervisor = EnrollAs(v1::ROLE_SUPERVISOR, "sz");
  EXPECT_THAT(supervisor.name(), StartsWith("s-"));
  EXPECT_EQ(supervisor.scope(), "sz");
  EXPECT_TRUE(supervisor.client_id().empty());

  v1::Principal officer = EnrollAs(v1::ROLE_UNIT_OFFICER, "u1");
  EXPECT_THAT(officer.name(), StartsWith("o-"));
  EXPECT_EQ(officer.scope(), "u1");
  EXPECT_TRUE(officer.client_id().empty());

  v1::Principal auditor = EnrollAs(v1::ROLE_AUDITOR);
  EXPECT_THAT(auditor.name(), StartsWith("a-"));
  EXPECT_TRUE(auditor.client_id().empty());
}

TEST_F(EnrollmentTest, BadRoleOrScopeIsRefusedAndStoresNothing) {
  struct BadCase {
    v1::Role role;
    std::string scope;
    absl::StatusCode code;
    std::string message;
  };
  const BadCase cases[] = {
      {v1::ROLE_UNSPECIFIED, "", absl::StatusCode::kInvalidArgument, "role:"},
      {v1::ROLE_ADMIN, "", absl::StatusCode::kInvalidArgument, "role:"},
      {v1::ROLE_SUPERVISOR, "", absl::StatusCode::kInvalidArgument,
       "scope: ROLE_SUPERVISOR needs a region id"},
      {v1::ROLE_SUPERVISOR, "nowhere", absl::StatusCode::kNotFound,
       "scope: no region \"nowhere\""},
      // A unit id is not a region id.
      {v1::ROLE_SUPERVISOR, "u1", absl::StatusCode::kNotFound, "scope:"},
      {v1::ROLE_UNIT_OFFICER, "", absl::StatusCode::kInvalidArgument,
       "scope: ROLE_UNIT_OFFICER needs a unit id"},
      {v1::ROLE_UNIT_OFFICER, "sz", absl::StatusCode::kNotFound,
       "scope: no unit \"sz\""},
      {v1::ROLE_INSPECTOR, "sz", absl::StatusCode::kInvalidArgument,
       "scope: must be empty"},
      {v1::ROLE_AUDITOR, "u1", absl::StatusCode::kInvalidArgument,
       "scope: must be empty"},
  };
  for (const BadCase& bad : cases) {
    auto code = Code(bad.role, bad.scope);
    EXPECT_EQ(code.status().code(), bad.code)
        << v1::Role_Name(bad.role) << " " << bad.scope;
    EXPECT_THAT(std::string(code.status().message()), HasSubstr(bad.message));
  }
  EXPECT_TRUE(txn_.codes.empty());
}

TEST_F(EnrollmentTest, CodeWorksOnce) {
  auto code = Code(v1::ROLE_AUDITOR);
  ASSERT_TRUE(code.ok());
  ASSERT_TRUE(Enroll(txn_, code->code(), kNow).ok());
  EXPECT_EQ(Enroll(txn_, code->code(), kNow).status().code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace fieldledger
