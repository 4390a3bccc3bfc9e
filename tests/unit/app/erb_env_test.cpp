// The ERB subset of cable.yml files: environment lookups expanded, anything else refused.
#include "app/erb_env.hpp"

#include <gtest/gtest.h>

#include <map>

using peercable::app::expand_env_erb;

namespace {

std::optional<std::string> fake_env(const std::string& name) {
  static const std::map<std::string, std::string> vars{{"REDIS_URL", "redis://10.0.0.1:6379/2"}, {"EMPTY", ""}};
  auto it = vars.find(name);
  if (it == vars.end()) return std::nullopt;
  return it->second;
}

std::string expand(std::string_view text) {
  auto r = expand_env_erb(text, fake_env);
  EXPECT_TRUE(r.text) << r.error;
  return r.text.value_or("");
}

std::string error_of(std::string_view text) {
  auto r = expand_env_erb(text, fake_env);
  EXPECT_FALSE(r.text);
  return r.error;
}

}  // namespace

TEST(ErbEnv, WhatRailsGeneratesExpands) {
  // `rails new` writes exactly this production section.
  EXPECT_EQ(expand("url: <%= ENV.fetch(\"REDIS_URL\") { \"redis://localhost:6379/1\" } %>"),
            "url: redis://10.0.0.1:6379/2");
  EXPECT_EQ(expand("url: <%= ENV.fetch(\"NOPE\") { \"redis://localhost:6379/1\" } %>"),
            "url: redis://localhost:6379/1");
  EXPECT_EQ(expand("url: <%= ENV.fetch('NOPE', 'redis://h:1/0') %>"), "url: redis://h:1/0");
  EXPECT_EQ(expand("p: <%= ENV['REDIS_URL'] %>|<%= ENV[\"NOPE\"] %>|<%=ENV.fetch(\"EMPTY\")-%>"),
            "p: redis://10.0.0.1:6379/2||");
  EXPECT_EQ(expand("a: 1\n<%# a comment %>b: 2\n"), "a: 1\nb: 2\n");
  EXPECT_EQ(expand("no tags at all"), "no tags at all");
}

TEST(ErbEnv, AnythingElseIsAClearError) {
  EXPECT_NE(error_of("url: <%= ENV.fetch(\"NOPE\") %>").find("NOPE is not set"), std::string::npos);
  EXPECT_NE(error_of("<% if true %>x<% end %>").find("not <% code %>"), std::string::npos);
  EXPECT_NE(error_of("<%= `rm -rf /` %>").find("only ENV"), std::string::npos);
  EXPECT_NE(error_of("<%= ENV[\"A#{1}\"] %>").find("only ENV"), std::string::npos);
  EXPECT_NE(error_of("<%= ENV.fetch(\"A\") { \"x\" } + \"y\" %>").find("only ENV"), std::string::npos);
  EXPECT_NE(error_of("url: <%= ENV['A'] ").find("not closed"), std::string::npos);
}
