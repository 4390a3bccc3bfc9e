// The PROXY protocol header parser, fed the input whole and then grown a byte at a time: every prefix must agree
// with the whole (need more until the header is done, then the same header), and nothing may read out of bounds.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/proxy_protocol.hpp"

using peercable::net::parse_proxy_header;
using peercable::net::ProxyParse;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto whole = parse_proxy_header(input);
  if (whole.status == ProxyParse::kDone && (whole.size > size || whole.size > peercable::net::kProxyV2MaxBytes))
    std::abort();
  const std::size_t limit = std::min<std::size_t>(size, 300);
  for (std::size_t n = 0; n <= limit; ++n) {
    const auto part = parse_proxy_header(input.substr(0, n));
    if (part.status == ProxyParse::kDone) {
      // Once done, more bytes never change the header.
      if (whole.status != ProxyParse::kDone || part.size != whole.size || part.source != whole.source) std::abort();
      break;
    }
    if (part.status == ProxyParse::kInvalid) {
      if (whole.status != ProxyParse::kInvalid) std::abort();  // refused early means refused later
      break;
    }
  }
  return 0;
}
