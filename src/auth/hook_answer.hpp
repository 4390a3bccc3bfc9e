#pragma once
// The app's answer to the HTTP auth hook: who the user is, an explicit refusal, or an error (docs/auth-hook.md).
// Pure: reads a status and a body.
#include <cstddef>
#include <string>
#include <string_view>

#include "auth/authenticator.hpp"

namespace peercable::auth {

enum class HookAnswerKind {
  kAccepted,  // 200 with a valid identity
  kRefused,   // 401 or 403: the app said no (cached for the negative TTL)
  kInvalid,   // anything else: an error of the app, never cached
};

struct HookAnswer {
  HookAnswerKind kind = HookAnswerKind::kInvalid;
  Identity identity;   // when accepted
  std::string reason;  // otherwise: for the log; never quotes the body or anything the client sent
};

/// Limits of the answer (docs/auth-hook.md).
inline constexpr std::size_t kHookMaxBody = std::size_t{16} * 1024;
inline constexpr std::size_t kHookMaxIdBytes = 128;
inline constexpr std::size_t kHookMaxNameChars = 40;

/// Reads the app's answer: 200 with {"id": string or integer, "name": optional string} accepts; 401 and 403
/// refuse; any other status, or a 200 whose body is not such an object, is invalid.
HookAnswer read_hook_answer(unsigned status, std::string_view body);

}  // namespace peercable::auth
