// Just enough JSON to read Action Cable frames without building a tree: walks the members of one
// object and hands back raw value spans. Keys are compared as written (our keys need no unescaping).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace loadgen {

/// Calls `member(key, raw_value)` for each top-level member of the JSON object `text`.
/// Returns false if `text` is not a well-formed object (callbacks may already have run).
bool for_each_member(std::string_view text, const std::function<void(std::string_view, std::string_view)>& member);

/// The contents of a JSON string value without its quotes (escapes left as written), if `raw` is a string.
std::optional<std::string_view> string_contents(std::string_view raw);

/// The value of a JSON integer, if `raw` is one.
std::optional<std::int64_t> integer_value(std::string_view raw);

}  // namespace loadgen
