#include "inflate.hpp"

#include <cstring>

#include "text.hpp"

namespace loadgen {

namespace {

/// Window bits 8..15 from a parameter value, which may be quoted (RFC 7692 §7.1.2); 0 when invalid.
int window_bits(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.size() == 1 && v[0] >= '8' && v[0] <= '9') return v[0] - '0';
  if (v.size() == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') return 10 + (v[1] - '0');
  return 0;
}

ExtensionCheck invalid(std::string why) {
  ExtensionCheck c;
  c.error = std::move(why);
  return c;
}

}  // namespace

ExtensionCheck check_extensions_response(std::string_view value, bool offered_deflate) {
  value = trim(value);
  if (value.empty()) return ExtensionCheck{true, std::nullopt, {}};
  if (!offered_deflate) return invalid("extension accepted that was never offered");
  if (value.find(',') != std::string_view::npos) return invalid("more than one extension accepted");
  DeflateAgreement a;
  bool seen[4] = {false, false, false, false};
  bool first = true;
  while (true) {
    const auto semi = value.find(';');
    const std::string_view part = trim(value.substr(0, semi));
    if (first) {
      if (!iequals(part, "permessage-deflate")) return invalid("unknown extension: " + std::string(part));
      first = false;
    } else {
      const auto eq = part.find('=');
      const std::string_view name = trim(part.substr(0, eq));
      const std::string_view arg = eq == std::string_view::npos ? std::string_view{} : trim(part.substr(eq + 1));
      int which = -1;
      if (iequals(name, "server_no_context_takeover") && eq == std::string_view::npos) {
        which = 0;
        a.server_no_context_takeover = true;
      } else if (iequals(name, "client_no_context_takeover") && eq == std::string_view::npos) {
        which = 1;
        a.client_no_context_takeover = true;
      } else if (iequals(name, "server_max_window_bits")) {
        which = 2;
        a.server_max_window_bits = window_bits(arg);
        if (a.server_max_window_bits == 0) return invalid("bad server_max_window_bits");
      } else if (iequals(name, "client_max_window_bits")) {
        which = 3;
        a.client_max_window_bits = window_bits(arg);
        if (a.client_max_window_bits == 0) return invalid("bad client_max_window_bits");
      } else {
        return invalid("unknown permessage-deflate parameter: " + std::string(part));
      }
      if (seen[which]) return invalid("repeated permessage-deflate parameter");
      seen[which] = true;
    }
    if (semi == std::string_view::npos) break;
    value.remove_prefix(semi + 1);
  }
  return ExtensionCheck{true, a, {}};
}

MessageInflater::MessageInflater(bool reset_each_message) : reset_each_message_(reset_each_message) {
  // A 15-bit window inflates anything a server with a smaller window produced.
  ok_ = inflateInit2(&z_, -15) == Z_OK;
}

MessageInflater::~MessageInflater() {
  if (ok_) inflateEnd(&z_);
}

bool MessageInflater::inflate_message(std::string_view in, std::size_t max_size, std::string& out) {
  static constexpr unsigned char kTail[4] = {0x00, 0x00, 0xff, 0xff};
  out.clear();
  if (!ok_) return false;
  bool good = true;
  bool ended = false;  // a final deflate block (BFINAL) ends the stream; the next message starts afresh
  char chunk[16 * 1024];
  for (int part = 0; part < 2 && good && !ended; ++part) {
    z_.next_in = part == 0 ? reinterpret_cast<Bytef*>(const_cast<char*>(in.data())) : const_cast<Bytef*>(kTail);
    z_.avail_in = part == 0 ? static_cast<uInt>(in.size()) : 4u;
    do {
      z_.next_out = reinterpret_cast<Bytef*>(chunk);
      z_.avail_out = sizeof chunk;
      const int rc = inflate(&z_, Z_SYNC_FLUSH);
      if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) {
        good = false;
        break;
      }
      out.append(chunk, sizeof chunk - z_.avail_out);
      if (rc == Z_STREAM_END) {
        ended = true;
        break;
      }
      if (out.size() > max_size) {
        good = false;
        break;
      }
      if (rc == Z_BUF_ERROR) break;  // no progress possible: input used up
    } while (z_.avail_in > 0 || z_.avail_out == 0);
  }
  if (reset_each_message_ || ended || !good) inflateReset(&z_);
  return good;
}

}  // namespace loadgen
