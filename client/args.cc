#include "client/args.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace fieldledger::client {

bool ParsedArgs::Has(absl::string_view name) const {
  return options.find(std::string(name)) != options.end();
}

std::optional<std::string> ParsedArgs::Get(absl::string_view name) const {
  auto it = options.find(std::string(name));
  if (it == options.end()) return std::nullopt;
  return it->second;
}

std::string ParsedArgs::GetOr(absl::string_view name,
                              absl::string_view fallback) const {
  auto it = options.find(std::string(name));
  return it == options.end() ? std::string(fallback) : it->second;
}

std::vector<std::string> ParsedArgs::GetAll(absl::string_view name) const {
  auto it = all_values.find(std::string(name));
  return it == all_values.end() ? std::vector<std::string>() : it->second;
}

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<OptionSpec>& specs) {
  auto find = [&specs](absl::string_view name) -> const OptionSpec* {
    for (const OptionSpec& spec : specs) {
      if (spec.name == name) return &spec;
    }
    return nullptr;
  };
  ParsedArgs parsed;
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (options_done || arg == "-" || !absl::StartsWith(arg, "-")) {
      parsed.positionals.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    // The short forms: -h for --help, -o for --output.
    if (arg == "-h" && find("help") != nullptr) arg = "--help";
    if (arg == "-o" && find("output") != nullptr) arg = "--output";
    if (!absl::StartsWith(arg, "--") || arg.size() == 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown option ", arg, " (options are --name)"));
    }
    absl::string_view body = arg.substr(2);
    std::optional<std::string> inline_value;
    if (size_t eq = body.find('='); eq != absl::string_view::npos) {
      inline_value = std::string(body.substr(eq + 1));
      body = body.substr(0, eq);
    }
    const OptionSpec* spec = find(body);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown option --", body));
    }
    if (spec->kind == OptionKind::kFlag) {
      if (inline_value) {
        return absl::InvalidArgumentError(
            absl::StrCat("option --", body, " takes no value"));
      }
      parsed.options[spec->name] = "";
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("option --", body, " needs a value"));
      }
      inline_value = args[++i];
    }
    parsed.all_values[spec->name].push_back(*inline_value);
    parsed.options[spec->name] = *std::move(inline_value);
  }
  if (!parsed.Has("help")) {
    for (const OptionSpec& spec : specs) {
      if (spec.required && !parsed.Has(spec.name)) {
        return absl::InvalidArgumentError(
            absl::StrCat("missing required option --", spec.name));
      }
    }
  }
  return parsed;
}

}  // namespace fieldledger::client
