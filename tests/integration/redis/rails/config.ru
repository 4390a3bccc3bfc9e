# frozen_string_literal: true

# Rails Action Cable on the redis adapter, under puma: /cable, and /health for the test harness.
require_relative "cable"

run(lambda do |env|
  path = env["PATH_INFO"]
  if path == "/cable"
    env["SCRIPT_NAME"] = "/cable"
    env["PATH_INFO"] = "/"
    ActionCable.server.call(env)
  elsif path == "/health"
    [200, { "Content-Type" => "application/json" }, ['{"status":"ok","server":"rails"}']]
  else
    [404, {}, []]
  end
end)
