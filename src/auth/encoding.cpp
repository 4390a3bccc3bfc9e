#include "auth/encoding.hpp"

namespace peercable::auth {
namespace {

int base64_digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::optional<std::string> base64_strict_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int a = base64_digit(in[i]), b = base64_digit(in[i + 1]);
    if (a < 0 || b < 0) return std::nullopt;
    if (last && in[i + 3] == '=') {
      if (in[i + 2] == '=') {
        if (b & 0x0F) return std::nullopt;
        out += static_cast<char>((a << 2) | (b >> 4));
        break;
      }
      int c = base64_digit(in[i + 2]);
      if (c < 0 || (c & 0x03)) return std::nullopt;
      out += static_cast<char>((a << 2) | (b >> 4));
      out += static_cast<char>(((b & 0x0F) << 4) | (c >> 2));
      break;
    }
    int c = base64_digit(in[i + 2]), d = base64_digit(in[i + 3]);
    if (c < 0 || d < 0) return std::nullopt;
    out += static_cast<char>((a << 2) | (b >> 4));
    out += static_cast<char>(((b & 0x0F) << 4) | (c >> 2));
    out += static_cast<char>(((c & 0x03) << 6) | d);
  }
  return out;
}

std::optional<std::string> base64_urlsafe_decode(std::string_view in) {
  // Ruby pads a length that is not a multiple of 4, then decodes strictly with the standard alphabet.
  std::string std_form;
  std_form.reserve(in.size() + 3);
  for (char c : in) {
    if (c == '+' || c == '/') return std::nullopt;
    std_form += c == '-' ? '+' : c == '_' ? '/' : c;
  }
  if (std_form.size() % 4 != 0) {
    if (std_form.find('=') != std::string::npos) return std::nullopt;
    std_form.append(4 - std_form.size() % 4, '=');
  }
  return base64_strict_decode(std_form);
}

std::optional<std::string> base64url_decode(std::string_view in) {
  if (in.find('=') != std::string_view::npos) return std::nullopt;
  return base64_urlsafe_decode(in);
}

std::string base64_encode(std::string_view in, bool url_safe) {
  static constexpr std::string_view kStandard = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static constexpr std::string_view kUrlSafe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const std::string_view alphabet = url_safe ? kUrlSafe : kStandard;
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  auto byte = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(in[k])); };
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (int shift = 18; shift >= 0; shift -= 6) out += alphabet[(v >> shift) & 63];
  }
  const std::size_t rest = in.size() - i;
  if (rest > 0) {
    unsigned v = byte(i) << 16;
    if (rest == 2) v |= byte(i + 1) << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (rest == 2) out += alphabet[(v >> 6) & 63];
    if (!url_safe) out.append(3 - rest, '=');
  }
  return out;
}

std::string hex_encode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace peercable::auth
