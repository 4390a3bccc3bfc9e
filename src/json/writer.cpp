#include "json/writer.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace peercable::json {

void append_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the pending run of bytes that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const char* esc = nullptr;
    char u[7] = {'\\', 'u', '0', '0', 0, 0, 0};
    std::size_t skip = 1;
    if (c < 0x20) {
      switch (c) {
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
          u[4] = kHex[c >> 4];
          u[5] = kHex[c & 15];
          esc = u;
      }
    } else if (c == '"') {
      esc = "\\\"";
    } else if (c == '\\') {
      esc = "\\\\";
    } else if (c == '<') {
      esc = "\\u003c";
    } else if (c == '>') {
      esc = "\\u003e";
    } else if (c == '&') {
      esc = "\\u0026";
    } else if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(s[i + 2]) == 0xA8 || static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
      esc = static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
      skip = 3;
    }
    if (!esc) continue;
    out.append(s.data() + run, i - run);
    out += esc;
    i += skip - 1;
    run = i + 1;
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";  // ActiveSupport encodes NaN/Infinity as null
    return;
  }
  // Shortest round-trip digits, then laid out as Rails encodes floats: decimal for 1e-4 <= |d| < 1e15,
  // otherwise d.ddde+XX; always with a fractional part.
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));
  auto epos = sci.find('e');
  std::string_view mant = sci.substr(0, epos);
  int exp = std::atoi(std::string(sci.substr(epos + 1)).c_str());
  bool neg = !mant.empty() && mant[0] == '-';
  if (neg) mant.remove_prefix(1);
  std::string digits;
  for (char ch : mant)
    if (ch != '.') digits += ch;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (neg) out += '-';
  if (exp >= 15 || exp < -4) {
    out += digits[0];
    out += '.';
    out += digits.size() > 1 ? digits.substr(1) : "0";
    char e[16];
    std::snprintf(e, sizeof e, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += e;
  } else if (exp < 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-exp - 1), '0');
    out += digits;
  } else {
    auto int_len = static_cast<std::size_t>(exp + 1);
    if (digits.size() <= int_len) {
      out += digits;
      out.append(int_len - digits.size(), '0');
      out += ".0";
    } else {
      out += digits.substr(0, int_len);
      out += '.';
      out += digits.substr(int_len);
    }
  }
}

namespace {

// True when an object repeats a key; allocation-free for the small objects clients send.
bool has_repeated_key(simdjson::dom::object v) {
  const std::size_t n = v.size();
  if (n < 2) return false;
  if (n <= 16) {
    std::string_view keys[16];
    std::size_t k = 0;
    for (auto field : v) {
      for (std::size_t i = 0; i < k; ++i)
        if (keys[i] == field.key) return true;
      keys[k++] = field.key;
    }
    return false;
  }
  std::unordered_set<std::string_view> seen;
  for (auto field : v)
    if (!seen.insert(field.key).second) return true;
  return false;
}

}  // namespace

void append_value(std::string& out, simdjson::dom::object v) {
  if (has_repeated_key(v)) {
    // A repeated key keeps its first position and its last value, as Ruby's JSON parser builds the Hash.
    std::vector<std::pair<std::string_view, simdjson::dom::element>> fields;
    std::unordered_map<std::string_view, std::size_t> index;
    for (auto field : v) {
      auto [it, inserted] = index.try_emplace(field.key, fields.size());
      if (inserted)
        fields.emplace_back(field.key, field.value);
      else
        fields[it->second].second = field.value;
    }
    out += '{';
    bool first = true;
    for (auto& [key, value] : fields) {
      if (!first) out += ',';
      first = false;
      append_string(out, key);
      out += ':';
      append_value(out, value);
    }
    out += '}';
    return;
  }
  out += '{';
  bool first = true;
  for (auto field : v) {
    if (!first) out += ',';
    first = false;
    append_string(out, field.key);
    out += ':';
    append_value(out, field.value);
  }
  out += '}';
}

void append_value(std::string& out, simdjson::dom::element v) {
  using simdjson::dom::element_type;
  switch (v.type()) {
    case element_type::OBJECT: append_value(out, simdjson::dom::object(v.get_object().value_unsafe())); return;
    case element_type::ARRAY: {
      out += '[';
      bool first = true;
      const simdjson::dom::array items = v.get_array().value_unsafe();  // a copy: the result is a temporary
      for (auto item : items) {
        if (!first) out += ',';
        first = false;
        append_value(out, item);
      }
      out += ']';
      return;
    }
    case element_type::STRING: append_string(out, v.get_string().value_unsafe()); return;
    case element_type::INT64: append_int(out, v.get_int64().value_unsafe()); return;
    case element_type::UINT64: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.get_uint64().value_unsafe());
      out.append(buf, r.ptr);
      return;
    }
    case element_type::DOUBLE: append_double(out, v.get_double().value_unsafe()); return;
    case element_type::BOOL: out += v.get_bool().value_unsafe() ? "true" : "false"; return;
    case element_type::NULL_VALUE: out += "null"; return;
  }
}

}  // namespace peercable::json
