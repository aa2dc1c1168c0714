#include "core/validation.h"

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/memory_txn.h"
#include "core/text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fieldledger {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const absl::Time kNow = absl::FromUnixSeconds(1756800000);

class ValidationTest : public ::testing::Test {
 protected:
  ValidationTest() {
    txn_.regions["sz"].set_id("sz");
    txn_.units["u1"].set_id("u1");
    txn_.categories["commuting"].set_id("commuting");
  }

  static v1::Finding Good() {
    v1::Finding f;
    f.set_id(NewUuidV7(kNow));
    f.set_unit_id("u1");
    f.set_category_id("commuting");
    f.set_summary("镇干部工作日下午不在岗");
    f.mutable_observed_at()->set_seconds(absl::ToUnixSeconds(kNow) - 3600);
    return f;
  }

  // The message of validating `f`, or "" when it is valid.
  std::string Error(const v1::Finding& f) {
    return std::string(
        ValidateFinding(txn_, "finding", f, kNow, Limits()).message());
  }

  MemoryTxn txn_;
};

TEST_F(ValidationTest, AcceptsAGoodFinding) {
  EXPECT_EQ(Error(Good()), "");
  v1::Finding f = Good();
  f.mutable_location()->set_latitude(22.54);
  f.mutable_location()->set_longitude(113.93);
  f.set_detail(std::string(10000, 'x'));
  f.set_summary(std::string(200, 'y'));
  EXPECT_EQ(Error(f), "");
}

TEST_F(ValidationTest, EachRuleNamesItsField) {
  struct Case {
    void (*mutate)(v1::Finding&);
    const char* want;
  };
  const Case cases[] = {
      {[](v1::Finding& f) { f.set_id("not-a-uuid"); }, "finding.id: "},
      {[](v1::Finding& f) { f.clear_unit_id(); }, "finding.unit_id: "},
      {[](v1::Finding& f) { f.set_unit_id("bad id"); }, "finding.unit_id: "},
      {[](v1::Finding& f) { f.set_category_id(std::string(65, 'c')); },
       "finding.category_id: "},
      {[](v1::Finding& f) { f.clear_summary(); },
       "finding.summary: must be 1 to 200 characters, got 0"},
      {[](v1::Finding& f) { f.set_summary(std::string(201, 's')); },
       "finding.summary: must be 1 to 200 characters, got 201"},
      {[](v1::Finding& f) { f.set_summary("\xC3"); },
       "finding.summary: is not valid UTF-8"},
      {[](v1::Finding& f) { f.set_detail(std::string(10001, 'd')); },
       "finding.detail: "},
      {[](v1::Finding& f) { f.clear_observed_at(); },
       "finding.observed_at: is required"},
      {[](v1::Finding& f) { f.mutable_observed_at()->set_seconds(5); },
       "finding.observed_at: must be a valid time"},
      {[](v1::Finding& f) { f.mutable_observed_at()->set_nanos(-1); },
       "finding.observed_at: must be a valid time"},
      {[](v1::Finding& f) {
         f.mutable_observed_at()->set_seconds(absl::ToUnixSeconds(kNow) + 301);
       },
       "finding.observed_at: is in the future"},
      {[](v1::Finding& f) { f.mutable_location()->set_latitude(90.5); },
       "finding.location.latitude: must be -90 to 90"},
      {[](v1::Finding& f) { f.mutable_location()->set_longitude(-181); },
       "finding.location.longitude: must be -180 to 180"},
      {[](v1::Finding& f) { f.mutable_location()->set_latitude(0.0 / 0.0); },
       "finding.location.latitude: "},
      {[](v1::Finding& f) { f.set_severity(static_cast<v1::Severity>(42)); },
       "finding.severity: "},
      {[](v1::Finding& f) { f.set_unit_id("nowhere"); },
       "finding.unit_id: no unit \"nowhere\""},
      {[](v1::Finding& f) { f.set_category_id("bribery"); },
       "finding.category_id: no category \"bribery\""},
  };
  for (const Case& c : cases) {
    v1::Finding f = Good();
    c.mutate(f);
    EXPECT_THAT(Error(f), StartsWith(c.want));
  }
}

TEST_F(ValidationTest, SkewWithinTheAllowanceIsAccepted) {
  v1::Finding f = Good();
  f.mutable_observed_at()->set_seconds(absl::ToUnixSeconds(kNow) + 299);
  EXPECT_EQ(Error(f), "");
}

TEST_F(ValidationTest, MissingReferencesAreNotFound) {
  v1::Finding f = Good();
  f.set_unit_id("nowhere");
  EXPECT_EQ(ValidateFinding(txn_, "finding", f, kNow, Limits()).code(),
            absl::StatusCode::kNotFound);
}

v1::EvidenceRef Ref(char digit, uint64_t size = 2048) {
  v1::EvidenceRef e;
  e.set_sha256(std::string(64, digit));
  e.set_media_type("image/jpeg");
  e.set_size_bytes(size);
  return e;
}

TEST_F(ValidationTest, EvidenceReferencesAreAcceptedWithinTheLimits) {
  v1::Finding f = Good();
  *f.add_evidence() = Ref('a', 1);
  *f.add_evidence() = Ref('b', Limits().max_evidence_bytes);
  f.mutable_evidence(1)->set_media_type("application/vnd.ms-excel");
  *f.add_evidence() = Ref('c');
  f.mutable_evidence(2)->set_media_type("Audio/MP4");
  EXPECT_EQ(Error(f), "");
  EXPECT_EQ(Limits().max_evidence_bytes, uint64_t{64} << 20);
}

TEST_F(ValidationTest, EachEvidenceRuleNamesTheReference) {
  struct Case {
    void (*mutate)(v1::Finding&);
    const char* want;
  };
  const Case cases[] = {
      {[](v1::Finding& f) { f.mutable_evidence(1)->set_sha256("abc"); },
       "finding.evidence[1].sha256: must be 64 lower-case hex digits"},
      {[](v1::Finding& f) {
         f.mutable_evidence(1)->set_sha256(std::string(64, 'A'));
       },
       "finding.evidence[1].sha256: must be 64 lower-case hex digits"},
      {[](v1::Finding& f) {
         f.mutable_evidence(1)->set_sha256(std::string(63, 'a') + "g");
       },
       "finding.evidence[1].sha256: must be 64 lower-case hex digits"},
      {[](v1::Finding& f) { *f.mutable_evidence(1) = f.evidence(0); },
       "finding.evidence[1].sha256: names the same evidence as an earlier "
       "reference"},
      {[](v1::Finding& f) { f.mutable_evidence(0)->set_media_type("jpeg"); },
       "finding.evidence[0].media_type: must be a media type"},
      {[](v1::Finding& f) { f.mutable_evidence(0)->set_media_type("image/"); },
       "finding.evidence[0].media_type: "},
      {[](v1::Finding& f) { f.mutable_evidence(0)->set_media_type("/jpeg"); },
       "finding.evidence[0].media_type: "},
      {[](v1::Finding& f) {
         f.mutable_evidence(0)->set_media_type("image/jpeg; q=1");
       },
       "finding.evidence[0].media_type: "},
      {[](v1::Finding& f) {
         f.mutable_evidence(0)->set_media_type("image/jp/eg");
       },
       "finding.evidence[0].media_type: "},
      {[](v1::Finding& f) { f.mutable_evidence(0)->set_size_bytes(0); },
       "finding.evidence[0].size_bytes: must be 1 to 67108864, got 0"},
      {[](v1::Finding& f) {
         f.mutable_evidence(1)->set_size_bytes((uint64_t{64} << 20) + 1);
       },
       "finding.evidence[1].size_bytes: must be 1 to 67108864, got 67108865"},
      {[](v1::Finding& f) {
         for (int i = 0; i < 19; ++i) {
           *f.add_evidence() = f.evidence(0);
           f.mutable_evidence(f.evidence_size() - 1)
               ->set_sha256(absl::StrCat(std::string(62, 'c'), 10 + i));
         }
       },
       "finding.evidence: 21 references, over the limit of 20"},
  };
  for (const Case& c : cases) {
    v1::Finding f = Good();
    *f.add_evidence() = Ref('a');
    *f.add_evidence() = Ref('b');
    c.mutate(f);
    EXPECT_EQ(Error(f).substr(0, strlen(c.want)), c.want) << Error(f);
  }
}

TEST_F(ValidationTest, Registry) {
  v1::Region r;
  r.set_id("ns");
  r.set_name("南山区");
  r.set_parent_id("sz");
  EXPECT_TRUE(ValidateRegion(txn_, r, Limits()).ok());
  r.set_parent_id("ns");
  EXPECT_THAT(std::string(ValidateRegion(txn_, r, Limits()).message()),
              StartsWith("region.parent_id: is the region itself"));
  r.set_parent_id("gz");
  EXPECT_THAT(std::string(ValidateRegion(txn_, r, Limits()).message()),
              StartsWith("region.parent_id: no region \"gz\""));
  r.clear_name();
  EXPECT_THAT(std::string(ValidateRegion(txn_, r, Limits()).message()),
              StartsWith("region.name: "));

  v1::Unit u;
  u.set_id("window-3");
  u.set_name("便民服务窗口");
  u.set_region_id("sz");
  EXPECT_TRUE(ValidateUnit(txn_, u, Limits()).ok());
  u.set_region_id("");
  EXPECT_THAT(std::string(ValidateUnit(txn_, u, Limits()).message()),
              StartsWith("unit.region_id: "));

  v1::Category c;
  c.set_id("commuting");
  c.set_name("走读");
  EXPECT_TRUE(ValidateCategory(c, Limits()).ok());
  c.set_id("走读");
  EXPECT_THAT(std::string(ValidateCategory(c, Limits()).message()),
              HasSubstr("category.id: may only hold"));
}

}  // namespace
}  // namespace fieldledger
