# frozen_string_literal: true

# The seed's app: a Rails app whose page renders the P2P interface partial with peercable's Stimulus
# controller, signs people in with its own session, and broadcasts to rooms through Redis. peercable is its
# cable server: the browser connects to peercable, which reads the same session cookie and the same
# config/cable.yml. Only Debian's Rails packages (6.1): no database, no asset pipeline, no Bundler.
require "logger"
require "rails"
require "action_controller/railtie"
require "action_view/railtie"
require "action_cable/engine"

module P2PDemo
  class Application < Rails::Application
    config.load_defaults 6.1
    config.root = File.expand_path("..", __dir__)
    config.eager_load = false
    config.secret_key_base = ENV.fetch("SECRET_KEY_BASE")
    # The session cookie peercable reads (--rails-cookie-name), JSON-serialized as Rails 6.1 writes it.
    config.session_store :cookie_store, key: "_p2p_demo_session"
    config.action_dispatch.cookies_serializer = :json
    config.hosts.clear
    config.logger = Logger.new($stdout)
    config.log_level = :info
    # Where the browser finds peercable (the partial's data-p2p-url-value).
    config.x.peercable_url = ENV.fetch("PEERCABLE_URL", "ws://127.0.0.1:8081/cable")
    # peercable serves the cable; this app only broadcasts (through config/cable.yml's Redis).
    config.action_cable.mount_path = nil
  end
end
