# frozen_string_literal: true

# A minimal Rails Action Cable server (no Rails application, just Action Cable and Action Dispatch) used
# as the reference that peercable's conformance tests compare against. Mounted at /cable, async adapter,
# request forgery protection off; every other path answers the way Rails routing does (404, empty body).

require "logger"
require "action_cable"
require "action_dispatch"
require "action_controller/metal/exceptions"
require "active_support/json"

require_relative "token"
require_relative "cable/connection"
require_relative "cable/p2p_channel"
require_relative "cable/benchmark_channel"

ActionCable.server.config.tap do |config|
  config.logger = Logger.new($stdout).tap { |l| l.level = ENV.fetch("RAILS_LOG_LEVEL", "info") }
  config.cable = { "adapter" => "async" }
  config.connection_class = -> { ApplicationCable::Connection }
  config.disable_request_forgery_protection = true
  config.worker_pool_size = 4
  config.mount_path = "/cable"
end

module ConformanceApp
  # Routes /cable to Action Cable (as `mount ActionCable.server => "/cable"` does) and /health to a probe.
  class Router
    def call(env)
      path = env["PATH_INFO"]
      if path == "/cable" || path.start_with?("/cable/")
        env["SCRIPT_NAME"] = "#{env['SCRIPT_NAME']}/cable"
        env["PATH_INFO"] = path.delete_prefix("/cable").then { |rest| rest.empty? ? "/" : rest }
        ActionCable.server.call(env)
      elsif path == "/health"
        [200, { "Content-Type" => "application/json" }, ['{"status":"ok","server":"rails"}']]
      else
        ActionCable.server.config.logger.error "ActionController::RoutingError (No route matches [#{env['REQUEST_METHOD']}] #{path.inspect})"
        raise ActionController::RoutingError, "No route matches [#{env['REQUEST_METHOD']}] #{path.inspect}"
      end
    end
  end

  # Like Rails' exceptions app when public/404.html is absent: cascade, so ShowExceptions answers empty.
  NO_PUBLIC_PAGES = ->(_env) { [404, { "X-Cascade" => "pass" }, []] }

  def self.rack_app
    Rack::Builder.new do
      use ActionDispatch::RequestId, header: "X-Request-Id"
      use Rack::Runtime
      use ActionDispatch::ShowExceptions, NO_PUBLIC_PAGES
      run Router.new
    end
  end
end
