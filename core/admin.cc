#include "core/admin.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "core/projection.h"
#include "core/status_macros.h"
#include "core/text.h"
#include "core/validation.h"

namespace fieldledger {
namespace {

constexpr absl::Duration kDefaultCodeTtl = absl::Hours(24 * 7);
constexpr absl::Duration kMaxCodeTtl = absl::Hours(24 * 90);

// Appends the registry event `fill` builds, once `existing` shows the id free.
template <typename Item, typename Fill>
absl::StatusOr<uint64_t> AppendCreate(
    Txn& txn, absl::string_view actor, absl::string_view kind, const Item& item,
    const absl::StatusOr<std::optional<Item>>& existing, absl::Time now,
    Fill fill) {
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    return absl::AlreadyExistsError(absl::StrCat(
        kind, ".id: ", kind, " \"", item.id(), "\" already exists"));
  }
  v1::Event event;
  event.mutable_recorded_at()->set_seconds(absl::ToUnixSeconds(now));
  event.set_actor(std::string(actor));
  *fill(event) = item;
  FL_ASSIGN_OR_RETURN(uint64_t seq, txn.AppendEvent(event));
  FL_RETURN_IF_ERROR(Project(event, txn));
  return seq;
}

}  // namespace

absl::StatusOr<uint64_t> CreateRegion(Txn& txn, absl::string_view actor,
                                      const v1::Region& region, absl::Time now,
                                      const Limits& limits) {
  FL_RETURN_IF_ERROR(ValidateRegion(txn, region, limits));
  return AppendCreate(txn, actor, "region", region, txn.GetRegion(region.id()),
                      now,
                      [](v1::Event& e) { return e.mutable_region_created(); });
}

absl::StatusOr<uint64_t> CreateUnit(Txn& txn, absl::string_view actor,
                                    const v1::Unit& unit, absl::Time now,
                                    const Limits& limits) {
  FL_RETURN_IF_ERROR(ValidateUnit(txn, unit, limits));
  return AppendCreate(txn, actor, "unit", unit, txn.GetUnit(unit.id()), now,
                      [](v1::Event& e) { return e.mutable_unit_created(); });
}

absl::StatusOr<uint64_t> CreateCategory(Txn& txn, absl::string_view actor,
                                        const v1::Category& category,
                                        absl::Time now, const Limits& limits) {
  FL_RETURN_IF_ERROR(ValidateCategory(category, limits));
  return AppendCreate(
      txn, actor, "category", category, txn.GetCategory(category.id()), now,
      [](v1::Event& e) { return e.mutable_category_created(); });
}

absl::StatusOr<v1::CreateEnrollmentCodeResponse> CreateEnrollmentCode(
    Txn& txn, const v1::CreateEnrollmentCodeRequest& request, absl::Time now) {
  const std::string& scope = request.scope();
  switch (request.role()) {
    case v1::ROLE_INSPECTOR:
    case v1::ROLE_AUDITOR:
      if (!scope.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "scope: must be empty for ", v1::Role_Name(request.role())));
      }
      break;
    case v1::ROLE_SUPERVISOR: {
      if (scope.empty()) {
        return absl::InvalidArgumentError(
            "scope: ROLE_SUPERVISOR needs a region id");
      }
      FL_ASSIGN_OR_RETURN(std::optional<v1::Region> region,
                          txn.GetRegion(scope));
      if (!region) {
        return absl::NotFoundError(
            absl::StrCat("scope: no region \"", scope, "\""));
      }
      break;
    }
    case v1::ROLE_UNIT_OFFICER: {
      if (scope.empty()) {
        return absl::InvalidArgumentError(
            "scope: ROLE_UNIT_OFFICER needs a unit id");
      }
      FL_ASSIGN_OR_RETURN(std::optional<v1::Unit> unit, txn.GetUnit(scope));
      if (!unit) {
        return absl::NotFoundError(
            absl::StrCat("scope: no unit \"", scope, "\""));
      }
      break;
    }
    default:
      return absl::InvalidArgumentError(
          "role: must be ROLE_INSPECTOR, ROLE_SUPERVISOR, ROLE_UNIT_OFFICER "
          "or ROLE_AUDITOR");
  }
  const absl::Duration ttl = request.ttl_seconds() == 0
                                 ? kDefaultCodeTtl
                                 : absl::Seconds(request.ttl_seconds());
  if (ttl > kMaxCodeTtl) {
    return absl::InvalidArgumentError("ttl_seconds: must be at most 90 days");
  }
  // 80 random bits: typed by hand in the field, yet not guessable.
  const std::string code = RandomHex(10);
  v1::EnrollmentCode stored;
  stored.set_role(request.role());
  stored.set_expires_at_unix(absl::ToUnixSeconds(now + ttl));
  stored.set_scope(scope);
  FL_RETURN_IF_ERROR(txn.PutEnrollmentCode(Sha256(code), stored));
  v1::CreateEnrollmentCodeResponse reply;
  reply.set_code(code);
  reply.mutable_expires_at()->set_seconds(stored.expires_at_unix());
  return reply;
}

static absl::string_view NamePrefix(v1::Role role) {
  switch (role) {
    case v1::ROLE_INSPECTOR:
      return "i-";
    case v1::ROLE_SUPERVISOR:
      return "s-";
    case v1::ROLE_UNIT_OFFICER:
      return "o-";
    case v1::ROLE_AUDITOR:
      return "a-";
    default:
      return "x-";
  }
}

absl::StatusOr<v1::EnrollResponse> Enroll(Txn& txn, absl::string_view code,
                                          absl::Time now) {
  const std::string code_hash = Sha256(code);
  FL_ASSIGN_OR_RETURN(std::optional<v1::EnrollmentCode> stored,
                      txn.GetEnrollmentCode(code_hash));
  if (!stored) {
    return absl::PermissionDeniedError("code: unknown or already used");
  }
  if (absl::FromUnixSeconds(stored->expires_at_unix()) < now) {
    return absl::PermissionDeniedError("code: expired");
  }
  FL_RETURN_IF_ERROR(txn.DeleteEnrollmentCode(code_hash));
  v1::EnrollResponse reply;
  reply.set_token(RandomHex(32));
  // Only inspectors push mutations; the others act through Supervision,
  // whose calls carry no client_seq, so they get no mutation stream.
  if (stored->role() == v1::ROLE_INSPECTOR) reply.set_client_id(RandomHex(16));
  reply.set_pseudonym(absl::StrCat(NamePrefix(stored->role()), RandomHex(8)));
  reply.set_role(stored->role());
  reply.set_scope(stored->scope());
  v1::Principal principal;
  principal.set_role(reply.role());
  principal.set_name(reply.pseudonym());
  principal.set_client_id(reply.client_id());
  principal.set_scope(stored->scope());
  FL_RETURN_IF_ERROR(txn.PutPrincipal(Sha256(reply.token()), principal));
  return reply;
}

absl::StatusOr<std::string> CreateAdminToken(Txn& txn) {
  std::string token = RandomHex(32);
  v1::Principal principal;
  principal.set_role(v1::ROLE_ADMIN);
  principal.set_name("admin");
  FL_RETURN_IF_ERROR(txn.PutPrincipal(Sha256(token), principal));
  return token;
}

}  // namespace fieldledger
