#pragma once
// The part of ERB that Rails apps put in config/cable.yml: environment lookups such as
// `<%= ENV.fetch("REDIS_URL") { "redis://localhost:6379/1" } %>` (what `rails new` writes). Anything else
// between <% and %> is refused, since no Ruby runs here. Pure.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace peercable::app {

/// Looks an environment variable up; nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

/// The result of expanding a file: its text, or what could not be expanded.
struct ErbResult {
  std::optional<std::string> text;
  std::string error;
};

/// Replaces each `<%= ENV["NAME"] %>`, `<%= ENV.fetch("NAME") %>`, `<%= ENV.fetch("NAME", "default") %>` and
/// `<%= ENV.fetch("NAME") { "default" } %>` (single or double quotes) with the variable's value; `<%# … %>`
/// comments vanish. ENV["NAME"] unset is empty (as Ruby's nil); ENV.fetch with no default and the variable
/// unset, or any other tag, is an error.
ErbResult expand_env_erb(std::string_view text, const EnvLookup& env);

}  // namespace peercable::app
