// A small command-line parser for the `fieldledger` CLI: options as
// `--name value` or `--name=value` (names may contain dashes), flags without
// a value, positional arguments, and `--` to end options. Unknown options,
// missing values and missing required options are one-line errors.
//
//   std::vector<OptionSpec> specs = {{"unit", OptionKind::kValue, true},
//                                    {"force", OptionKind::kFlag}};
//   FL_ASSIGN_OR_RETURN(ParsedArgs args, ParseArgs(argv_tail, specs));
//   std::string unit = *args.Get("unit");
//
// Thread-safety: plain values; no shared state.
#ifndef FIELDLEDGER_CLIENT_ARGS_H_
#define FIELDLEDGER_CLIENT_ARGS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fieldledger::client {

enum class OptionKind {
  // Takes a value: `--name value` or `--name=value`.
  kValue,
  // Takes none: `--name`. `--name=value` is an error.
  kFlag,
};

struct OptionSpec {
  // Without the leading dashes, e.g. "observed-at".
  std::string name;
  // Whether the option takes a value. Default kValue.
  OptionKind kind = OptionKind::kValue;
  // Whether ParseArgs fails when the option is absent. Default false.
  bool required = false;
  // One line for the usage text, e.g. "RFC 3339 time, default now".
  std::string help = "";
};

struct ParsedArgs {
  // Last value of each value option given (a repeated option: the last wins);
  // "" for a flag.
  std::map<std::string, std::string> options;
  // Every value of each value option, in the order given (for repeatable
  // options such as --evidence).
  std::map<std::string, std::vector<std::string>> all_values;
  // Arguments that are not options, in order.
  std::vector<std::string> positionals;

  bool Has(absl::string_view name) const;
  // The option's value, or nullopt when it was not given.
  std::optional<std::string> Get(absl::string_view name) const;
  std::string GetOr(absl::string_view name, absl::string_view fallback) const;
  // Every value the option was given, in order; empty when none.
  std::vector<std::string> GetAll(absl::string_view name) const;
};

// Parses `args` (the arguments after the command words) against `specs`.
// INVALID_ARGUMENT with a message such as "unknown option --colour",
// "option --unit needs a value" or "missing required option --summary".
// `-h` is read as `--help` when a spec "help" exists, `-o` as `--output`
// when a spec "output" exists.
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<OptionSpec>& specs);

}  // namespace fieldledger::client

#endif  // FIELDLEDGER_CLIENT_ARGS_H_
