// AdminClient: the Admin service for the CLI — registry items and enrollment
// codes. Each call sets a deadline and the admin bearer token; no retries
// (an admin is at the keyboard).
//
//   FL_ASSIGN_OR_RETURN(std::unique_ptr<AdminClient> admin,
//                       AdminClient::Connect("127.0.0.1:50051", token));
//   v1::Region region;
//   region.set_id("440305");
//   region.set_name("南山区");
//   FL_ASSIGN_OR_RETURN(uint64_t seq, admin->CreateRegion(region));
//
// Thread-safety: all methods may be called from several threads.
#ifndef FIELDLEDGER_CLIENT_ADMIN_CLIENT_H_
#define FIELDLEDGER_CLIENT_ADMIN_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fieldledger/v1/admin.grpc.pb.h"

namespace fieldledger::client {

namespace v1 = ::fieldledger::v1;

class AdminClient {
 public:
  // A client over an insecure channel to `server` ("host:port"). The channel
  // connects lazily: an unreachable server shows up as UNAVAILABLE on the
  // first call.
  static absl::StatusOr<std::unique_ptr<AdminClient>> Connect(
      const std::string& server, std::string token,
      absl::Duration timeout = absl::Seconds(15));

  // Over any stub (tests: an in-process channel).
  AdminClient(std::unique_ptr<v1::Admin::StubInterface> stub, std::string token,
              absl::Duration timeout);

  // Each returns the server's status unchanged in code ("CreateRegion: ..."):
  // ALREADY_EXISTS when the id is taken, INVALID_ARGUMENT / NOT_FOUND for bad
  // input, UNAUTHENTICATED / PERMISSION_DENIED for a bad token. Create*
  // return the event seq.
  absl::StatusOr<uint64_t> CreateRegion(const v1::Region& region);
  absl::StatusOr<uint64_t> CreateUnit(const v1::Unit& unit);
  absl::StatusOr<uint64_t> CreateCategory(const v1::Category& category);
  absl::StatusOr<std::vector<v1::Region>> ListRegions();
  // Units directly in `region_id`; all when it is empty.
  absl::StatusOr<std::vector<v1::Unit>> ListUnits(const std::string& region_id);
  absl::StatusOr<std::vector<v1::Category>> ListCategories();
  // `ttl_seconds` 0 means the server's default (7 days). `scope`: a region
  // id for ROLE_SUPERVISOR, a unit id for ROLE_UNIT_OFFICER, else empty.
  absl::StatusOr<v1::CreateEnrollmentCodeResponse> CreateEnrollmentCode(
      v1::Role role, uint32_t ttl_seconds, const std::string& scope = "");
  // Recomputes the report counters from the event log (on a large node this
  // takes a while: the deadline is `rebuild_timeout`); with `check_only`,
  // only reports the differences.
  absl::StatusOr<v1::RebuildAggregatesResponse> RebuildAggregates(
      bool check_only, absl::Duration rebuild_timeout = absl::Minutes(30));

 private:
  std::unique_ptr<v1::Admin::StubInterface> stub_;
  const std::string token_;
  const absl::Duration timeout_;
};

}  // namespace fieldledger::client

#endif  // FIELDLEDGER_CLIENT_ADMIN_CLIENT_H_
