# frozen_string_literal: true

# A tiny Rails application that plays the app behind peercable's --auth-url: a user signs in at /login
# (which writes the Rails session cookie), and /cable_auth reads that session and says who the user is —
# the controller action docs/auth-hook.md shows. Run with: puma -e production config.ru

require "logger"
require "action_controller/railtie"

class HookApp < Rails::Application
  config.root = __dir__
  config.eager_load = false
  config.logger = Logger.new($stdout)
  config.log_level = ENV.fetch("RAILS_LOG_LEVEL", "info").to_sym
  config.secret_key_base = ENV.fetch("SECRET_KEY_BASE", "peercable-auth-hook-test-" * 4)
  config.session_store :cookie_store, key: "_hook_app_session"
  config.hosts.clear
end

# Signs a user in, as any login form would; GET only so that the test can call it without a CSRF token.
class SessionsController < ActionController::Base
  def create
    reset_session
    session[:user_id] = params.require(:user_id)
    session[:name] = params[:name]
    render json: { signed_in: session[:user_id] }
  end
end

# The hook: peercable forwards the WebSocket upgrade request's cookies here and uses the JSON answer.
class CableAuthController < ActionController::Base
  def show
    user_id = session[:user_id]
    return head :unauthorized if user_id.blank?

    render json: { id: user_id.to_s, name: session[:name].presence || "User #{user_id}" }
  end
end

class HealthController < ActionController::Base
  def show
    render json: { status: "ok", server: "rails" }
  end
end

HookApp.initialize!
HookApp.routes.draw do
  get "/login", to: "sessions#create"
  get "/cable_auth", to: "cable_auth#show"
  get "/health", to: "health#show"
end

run HookApp
