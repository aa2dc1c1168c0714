#include "core/validation.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/text.h"

namespace fieldledger {
namespace {

std::string Path(absl::string_view parent, absl::string_view child) {
  return parent.empty() ? std::string(child) : absl::StrCat(parent, ".", child);
}

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

// The item `id` refers to exists: `found` is the lookup's result.
template <typename T>
absl::Status MustExist(absl::string_view field, absl::string_view kind,
                       absl::string_view id,
                       const absl::StatusOr<std::optional<T>>& found) {
  if (!found.ok()) return found.status();
  if (!found->has_value()) {
    return absl::NotFoundError(
        absl::StrCat(field, ": no ", kind, " \"", id, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateId(absl::string_view field, absl::string_view id) {
  if (id.empty() || id.size() > 64) {
    return Invalid(field,
                   absl::StrCat("must be 1 to 64 characters, got ", id.size()));
  }
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return Invalid(field, "may only hold A-Z a-z 0-9 . _ -");
  }
  return absl::OkStatus();
}

absl::Status ValidateText(absl::string_view field, absl::string_view text,
                          size_t min_chars, size_t max_chars) {
  const std::optional<size_t> chars = Utf8Length(text);
  if (!chars) return Invalid(field, "is not valid UTF-8");
  if (*chars < min_chars || *chars > max_chars) {
    return Invalid(field, absl::StrCat("must be ", min_chars, " to ", max_chars,
                                       " characters, got ", *chars));
  }
  return absl::OkStatus();
}

bool IsSha256Hex(absl::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

namespace {

// RFC 6838 section 4.2: restricted-name.
bool IsRestrictedName(absl::string_view s) {
  if (s.empty() || s.size() > 127 || !absl::ascii_isalnum(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(c) ||
           absl::string_view("!#$&^_.+-").find(c) != absl::string_view::npos;
  });
}

}  // namespace

bool IsMediaType(absl::string_view s) {
  const size_t slash = s.find('/');
  return slash != absl::string_view::npos &&
         IsRestrictedName(s.substr(0, slash)) &&
         IsRestrictedName(s.substr(slash + 1));
}

absl::Status ValidateEvidenceRefs(
    absl::string_view field,
    const google::protobuf::RepeatedPtrField<v1::EvidenceRef>& refs,
    const Limits& limits) {
  if (static_cast<size_t>(refs.size()) > limits.max_evidence_refs) {
    return Invalid(field,
                   absl::StrCat(refs.size(), " references, over the limit of ",
                                limits.max_evidence_refs));
  }
  absl::flat_hash_set<absl::string_view> seen;
  for (int i = 0; i < refs.size(); ++i) {
    const v1::EvidenceRef& e = refs[i];
    const std::string at = absl::StrCat(field, "[", i, "]");
    if (!IsSha256Hex(e.sha256())) {
      return Invalid(Path(at, "sha256"), "must be 64 lower-case hex digits");
    }
    if (!seen.insert(e.sha256()).second) {
      return Invalid(Path(at, "sha256"),
                     "names the same evidence as an earlier reference");
    }
    if (!IsMediaType(e.media_type())) {
      return Invalid(Path(at, "media_type"),
                     "must be a media type \"type/subtype\" such as "
                     "\"image/jpeg\"");
    }
    if (e.size_bytes() == 0 || e.size_bytes() > limits.max_evidence_bytes) {
      return Invalid(Path(at, "size_bytes"),
                     absl::StrCat("must be 1 to ", limits.max_evidence_bytes,
                                  ", got ", e.size_bytes()));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateFindingShape(absl::string_view field, const v1::Finding& f,
                                  absl::Time now, const Limits& limits) {
  if (!IsUuidV7(f.id())) {
    return Invalid(Path(field, "id"),
                   "must be a UUIDv7 in lower-case text form");
  }
  FL_RETURN_IF_ERROR(ValidateId(Path(field, "unit_id"), f.unit_id()));
  FL_RETURN_IF_ERROR(ValidateId(Path(field, "category_id"), f.category_id()));
  FL_RETURN_IF_ERROR(ValidateText(Path(field, "summary"), f.summary(), 1,
                                  limits.max_summary_chars));
  FL_RETURN_IF_ERROR(ValidateText(Path(field, "detail"), f.detail(), 0,
                                  limits.max_detail_chars));
  if (!f.has_observed_at())
    return Invalid(Path(field, "observed_at"), "is required");
  const auto& t = f.observed_at();
  if (t.nanos() < 0 || t.nanos() > 999999999 || t.seconds() < 946684800) {
    return Invalid(Path(field, "observed_at"),
                   "must be a valid time after 2000-01-01");
  }
  const absl::Time observed =
      absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
  if (observed > now + limits.max_clock_skew) {
    return Invalid(Path(field, "observed_at"),
                   absl::StrCat("is in the future (more than ",
                                absl::FormatDuration(limits.max_clock_skew),
                                " ahead of the server clock)"));
  }
  if (f.has_location()) {
    const double lat = f.location().latitude();
    const double lon = f.location().longitude();
    if (!(lat >= -90 && lat <= 90)) {
      return Invalid(Path(field, "location.latitude"), "must be -90 to 90");
    }
    if (!(lon >= -180 && lon <= 180)) {
      return Invalid(Path(field, "location.longitude"), "must be -180 to 180");
    }
  }
  if (!v1::Severity_IsValid(f.severity())) {
    return Invalid(Path(field, "severity"), "is not a known severity");
  }
  return ValidateEvidenceRefs(Path(field, "evidence"), f.evidence(), limits);
}

absl::Status ValidateFinding(Txn& txn, absl::string_view field,
                             const v1::Finding& f, absl::Time now,
                             const Limits& limits) {
  FL_RETURN_IF_ERROR(ValidateFindingShape(field, f, now, limits));
  FL_RETURN_IF_ERROR(MustExist(Path(field, "unit_id"), "unit", f.unit_id(),
                               txn.GetUnit(f.unit_id())));
  return MustExist(Path(field, "category_id"), "category", f.category_id(),
                   txn.GetCategory(f.category_id()));
}

absl::Status ValidateRegion(Txn& txn, const v1::Region& r,
                            const Limits& limits) {
  FL_RETURN_IF_ERROR(ValidateId("region.id", r.id()));
  FL_RETURN_IF_ERROR(
      ValidateText("region.name", r.name(), 1, limits.max_name_chars));
  if (r.parent_id().empty()) return absl::OkStatus();
  FL_RETURN_IF_ERROR(ValidateId("region.parent_id", r.parent_id()));
  if (r.parent_id() == r.id())
    return Invalid("region.parent_id", "is the region itself");
  return MustExist("region.parent_id", "region", r.parent_id(),
                   txn.GetRegion(r.parent_id()));
}

absl::Status ValidateUnit(Txn& txn, const v1::Unit& u, const Limits& limits) {
  FL_RETURN_IF_ERROR(ValidateId("unit.id", u.id()));
  FL_RETURN_IF_ERROR(
      ValidateText("unit.name", u.name(), 1, limits.max_name_chars));
  FL_RETURN_IF_ERROR(ValidateId("unit.region_id", u.region_id()));
  return MustExist("unit.region_id", "region", u.region_id(),
                   txn.GetRegion(u.region_id()));
}

absl::Status ValidateCategory(const v1::Category& c, const Limits& limits) {
  FL_RETURN_IF_ERROR(ValidateId("category.id", c.id()));
  FL_RETURN_IF_ERROR(
      ValidateText("category.name", c.name(), 1, limits.max_name_chars));
  return ValidateText("category.description", c.description(), 0,
                      limits.max_note_chars);
}

}  // namespace fieldledger
