#pragma once
// A loop's permessage-deflate state, shared by every connection that agreed on no context takeover.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "ws/deflate.hpp"

namespace peercable::ws {

/// One inflater and one deflater per window size asked for, each made on first use; an idle connection
/// holds no zlib state at all. Used on its loop's thread only.
class SharedDeflate {
 public:
  /// Messages shorter than `min_size` bytes are sent uncompressed.
  SharedDeflate(const DeflateOptions& options, std::size_t min_size) : options_(options), min_size_(min_size) {}

  const DeflateOptions& options() const noexcept { return options_; }
  std::size_t min_size() const noexcept { return min_size_; }

  /// The inflater for clients that compress each message on their own (client_no_context_takeover).
  Inflater& inflater();

  /// Builds the whole compressed text frame (RSV1) of `payload` for clients whose agreed server window is
  /// `window_bits`. Returns false, `frame` unspecified, when `payload` is short or would not shrink.
  bool deflate_frame(std::string_view payload, int window_bits, std::string& frame);

 private:
  DeflateOptions options_;
  std::size_t min_size_;
  std::unique_ptr<Inflater> inflater_;
  std::unique_ptr<Deflater> deflaters_[16];  // by window bits, 9..15
  std::string scratch_;
};

}  // namespace peercable::ws
