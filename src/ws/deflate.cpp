#include "ws/deflate.hpp"

#include <cstring>

#include "net/header_text.hpp"

namespace peercable::ws {
namespace {

using net::iequals;
using net::trim_ows;

// Parses a window-bits value "8".."15" (optionally quoted, RFC 7692 §7.1.2.1); returns 0 when invalid.
int parse_bits(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty() || v.size() > 2 || (v.size() == 2 && v[0] == '0')) return 0;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
  }
  return (n >= 8 && n <= 15) ? n : 0;
}

// Parses one offer's parameters; nullopt when the offer must be declined.
std::optional<DeflateParams> parse_offer(std::string_view params) {
  DeflateParams p;
  bool seen_snct = false, seen_cnct = false, seen_smwb = false, seen_cmwb = false;
  while (!params.empty()) {
    auto semi = params.find(';');
    std::string_view item = trim_ows(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    if (item.empty()) continue;
    std::string_view name = item, value;
    bool has_value = false;
    if (auto eq = item.find('='); eq != std::string_view::npos) {
      name = trim_ows(item.substr(0, eq));
      value = trim_ows(item.substr(eq + 1));
      has_value = true;
    }
    if (iequals(name, "server_no_context_takeover")) {
      if (seen_snct || has_value) return std::nullopt;
      seen_snct = p.server_no_context_takeover = true;
    } else if (iequals(name, "client_no_context_takeover")) {
      if (seen_cnct || has_value) return std::nullopt;
      seen_cnct = p.client_no_context_takeover = true;
    } else if (iequals(name, "server_max_window_bits")) {
      if (seen_smwb || !has_value) return std::nullopt;
      seen_smwb = p.server_window_offered = true;
      p.server_max_window_bits = parse_bits(value);
      if (p.server_max_window_bits == 0 || p.server_max_window_bits == 8) return std::nullopt;
    } else if (iequals(name, "client_max_window_bits")) {
      if (seen_cmwb) return std::nullopt;
      seen_cmwb = true;
      p.client_window_offered = true;
      if (has_value) {
        p.client_max_window_bits = parse_bits(value);
        if (p.client_max_window_bits == 0) return std::nullopt;
      }
    } else {
      return std::nullopt;
    }
  }
  return p;
}

// Fits an acceptable offer to the server's options.
DeflateParams fit(DeflateParams p, const DeflateOptions& o) {
  if (!o.context_takeover) {
    // RFC 7692 §7.1.1.1 and §7.1.1.2: a server may add both to its response whatever the offer said.
    p.server_no_context_takeover = true;
    p.client_no_context_takeover = true;
  } else if (p.client_window_offered && o.window_bits < p.client_max_window_bits) {
    // §7.1.2.2: the client allowed us to limit its window; a smaller one makes our inflater smaller.
    p.client_max_window_bits = o.window_bits;
  }
  // A compressor may always use a smaller window than agreed (the decoder's window is an upper bound).
  if (o.window_bits < p.server_max_window_bits) p.server_max_window_bits = o.window_bits;
  return p;
}

}  // namespace

std::optional<DeflateParams> negotiate_deflate(std::string_view header, const DeflateOptions& options) {
  while (!header.empty()) {
    auto comma = header.find(',');
    std::string_view ext = trim_ows(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    auto semi = ext.find(';');
    std::string_view name = trim_ows(ext.substr(0, semi));
    if (!iequals(name, "permessage-deflate")) continue;
    auto params = semi == std::string_view::npos ? std::string_view{} : ext.substr(semi + 1);
    if (auto p = parse_offer(params)) return fit(*p, options);
  }
  return std::nullopt;
}

std::string deflate_response(const DeflateParams& p) {
  std::string r = "permessage-deflate";
  if (p.server_no_context_takeover) r += "; server_no_context_takeover";
  if (p.client_no_context_takeover) r += "; client_no_context_takeover";
  if (p.server_window_offered) r += "; server_max_window_bits=" + std::to_string(p.server_max_window_bits);
  // Only a client that offered the parameter may be limited (§7.1.2.2), and only a limit below 15 says anything.
  if (p.client_window_offered && !p.client_no_context_takeover && p.client_max_window_bits < 15)
    r += "; client_max_window_bits=" + std::to_string(p.client_max_window_bits);
  return r;
}

Inflater::Inflater(int window_bits, bool reset_each_message) : reset_each_message_(reset_each_message) {
  // Without takeover, inflate with the largest window: a stream made with any smaller one inflates correctly,
  // and the one shared inflater fits every client. With takeover the client's agreed window bounds the history.
  inflateInit2(&z_, reset_each_message ? -15 : -window_bits);
}

Inflater::~Inflater() {
  inflateEnd(&z_);
}

Inflater::Result Inflater::inflate_message(std::string_view in, std::size_t max_size, std::string& out) {
  static constexpr unsigned char kTail[4] = {0x00, 0x00, 0xff, 0xff};
  out.clear();
  unsigned char chunk[16384];
  Result result = Result::kOk;
  for (int pass = 0; pass < 2 && result == Result::kOk; ++pass) {
    if (pass == 0) {
      z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
      z_.avail_in = static_cast<uInt>(in.size());
    } else {
      z_.next_in = const_cast<Bytef*>(kTail);
      z_.avail_in = 4;
    }
    while (z_.avail_in > 0) {
      z_.next_out = chunk;
      z_.avail_out = sizeof chunk;
      int rc = ::inflate(&z_, Z_SYNC_FLUSH);
      if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) {
        result = Result::kCorrupt;
        break;
      }
      std::size_t produced = sizeof chunk - z_.avail_out;
      if (out.size() + produced > max_size) {
        result = Result::kTooBig;
        break;
      }
      out.append(reinterpret_cast<char*>(chunk), produced);
      if (rc == Z_STREAM_END) {
        // A final block ends the stream; the next message starts a fresh one.
        inflateReset(&z_);
        if (pass == 1) break;
      }
      if (rc == Z_BUF_ERROR && produced == 0) break;
    }
  }
  if (result != Result::kOk || reset_each_message_) inflateReset(&z_);
  return result;
}

Deflater::Deflater(int window_bits, int mem_level, bool reset_each_message) : reset_each_message_(reset_each_message) {
  deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -window_bits, mem_level, Z_DEFAULT_STRATEGY);
}

Deflater::~Deflater() {
  deflateEnd(&z_);
}

bool Deflater::deflate_message(std::string_view in, std::string& out) {
  out.clear();
  z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z_.avail_in = static_cast<uInt>(in.size());
  unsigned char chunk[16384];
  do {
    z_.next_out = chunk;
    z_.avail_out = sizeof chunk;
    int rc = ::deflate(&z_, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
    out.append(reinterpret_cast<char*>(chunk), sizeof chunk - z_.avail_out);
  } while (z_.avail_out == 0);
  if (out.size() >= 4 && std::memcmp(out.data() + out.size() - 4, "\x00\x00\xff\xff", 4) == 0)
    out.resize(out.size() - 4);
  if (reset_each_message_) deflateReset(&z_);
  return true;
}

}  // namespace peercable::ws
