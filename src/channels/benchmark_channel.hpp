#pragma once
// BenchmarkChannel as public Action Cable load tools expect it: echo, and broadcast to "all".
#include "cable/channel.hpp"

namespace peercable::channels {

class BenchmarkChannel final : public cable::Channel {
 public:
  std::string_view name() const override { return "BenchmarkChannel"; }
  bool subscribed(cable::Subscription& sub, simdjson::dom::object params) override;
  void perform(cable::Subscription& sub, std::string_view action, simdjson::dom::object data) override;
};

}  // namespace peercable::channels
