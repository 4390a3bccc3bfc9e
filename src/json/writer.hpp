#pragma once
// JSON output the way Rails' ActiveSupport::JSON writes it, so our frames match Action Cable's byte for byte.
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace peercable::json {

/// Appends `s` as a JSON string literal with ActiveSupport's escaping: `<` `>` `&` as \u003c \u003e \u0026,
/// U+2028/U+2029 escaped, control characters as \uXXXX except \b \f \n \r \t; non-ASCII stays raw UTF-8.
void append_string(std::string& out, std::string_view s);

/// Appends a number as Ruby prints it (integers as is; floats shortest round-trip, "1.0e+21" style).
void append_double(std::string& out, double d);
void append_int(std::string& out, std::int64_t v);

/// Re-encodes a parsed JSON value (whitespace dropped, strings re-escaped, numbers Ruby-style), the way
/// Rails decodes and re-encodes a payload before sending it.
void append_value(std::string& out, simdjson::dom::element v);
void append_value(std::string& out, simdjson::dom::object v);

/// A tiny builder for objects with known keys: w.key("type").str("message").key("n").num(1).
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  ObjectWriter& key(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    append_string(out_, k);
    out_ += ':';
    return *this;
  }
  ObjectWriter& str(std::string_view v) {
    append_string(out_, v);
    return *this;
  }
  ObjectWriter& num(std::int64_t v) {
    append_int(out_, v);
    return *this;
  }
  ObjectWriter& boolean(bool v) {
    out_ += v ? "true" : "false";
    return *this;
  }
  /// Appends already-encoded JSON verbatim.
  ObjectWriter& raw(std::string_view json) {
    out_ += json;
    return *this;
  }
  void end() { out_ += '}'; }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace peercable::json
