#pragma once
// A Redis command's arguments in the two arrays hiredis' *CommandArgv functions take (binary-safe): the one
// place every client, blocking or asynchronous, builds them.
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace peercable::redis {

/// Views into the arguments given, which must outlive it until the command is sent.
class CommandArgs {
 public:
  CommandArgs() = default;
  explicit CommandArgs(std::initializer_list<std::string_view> args) { assign(args); }
  explicit CommandArgs(const std::vector<std::string>& args) { assign(args); }

  /// Replaces the arguments, keeping the arrays' room (one object serves every command of a pipeline).
  template <class Args>
  void assign(const Args& args) {
    argv_.clear();
    lens_.clear();
    argv_.reserve(args.size());
    lens_.reserve(args.size());
    for (const auto& a : args) {
      argv_.push_back(a.data());
      lens_.push_back(a.size());
    }
  }

  int count() const noexcept { return static_cast<int>(argv_.size()); }
  const char** argv() noexcept { return argv_.data(); }
  const std::size_t* lens() const noexcept { return lens_.data(); }

 private:
  std::vector<const char*> argv_;
  std::vector<std::size_t> lens_;
};

}  // namespace peercable::redis
