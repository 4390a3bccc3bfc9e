# frozen_string_literal: true

# A minimal Rails Action Cable setup on the redis adapter, shared by the server (config.ru) and the
# broadcasting script: the adapter settings come from a cable.yml-style file (CABLE_CONFIG) and its
# RAILS_ENV section, exactly as a Rails application reads config/cable.yml.

require "logger"
require "yaml"
require "openssl"
require "base64"
require "json"
require "action_cable"

module RedisInterop
  module_function

  # The sub of an HS256 token signed with PEERCABLE_JWT_SECRET (what peercable's test tokens are), or nil.
  def user_of(token)
    secret = ENV.fetch("PEERCABLE_JWT_SECRET", "")
    parts = token.to_s.split(".")
    return nil unless parts.length == 3 && !secret.empty?

    signed = Base64.urlsafe_encode64(OpenSSL::HMAC.digest("SHA256", secret, "#{parts[0]}.#{parts[1]}"), padding: false)
    return nil unless signed.bytesize == parts[2].bytesize && OpenSSL.fixed_length_secure_compare(signed, parts[2])

    claims = JSON.parse(Base64.urlsafe_decode64(parts[1] + "=" * ((4 - parts[1].length % 4) % 4)))
    claims["sub"].is_a?(String) && !claims["sub"].empty? ? claims : nil
  rescue ArgumentError, JSON::ParserError
    nil
  end
end

module ApplicationCable
  # Identified by the token's sub, like peercable, so remote_connections.where(current_user: id) matches.
  class Connection < ActionCable::Connection::Base
    identified_by :current_user
    attr_reader :user_name

    def connect
      claims = RedisInterop.user_of(request.params["token"])
      reject_unauthorized_connection unless claims
      self.current_user = claims["sub"]
      @user_name = claims["name"].is_a?(String) ? claims["name"] : claims["sub"]
    end
  end

  class Channel < ActionCable::Channel::Base
  end
end

# The streams and message shape of peercable's P2PChannel, enough to share rooms with peercable nodes.
class P2PChannel < ApplicationCable::Channel
  def subscribed
    @room = params[:room].to_s
    return reject unless @room.match?(/\A[A-Za-z0-9_.:\-]{1,64}\z/)

    stream_from "p2p:#{@room}"
    stream_from "p2p:user:#{current_user}"
  end

  def speak(data)
    ActionCable.server.broadcast "p2p:#{@room}",
      { type: "message", room: @room, from: { id: current_user, name: connection.user_name }, body: data["body"].to_s }
  end
end

ActionCable.server.config.tap do |config|
  config.logger = Logger.new($stderr).tap { |l| l.level = ENV.fetch("RAILS_LOG_LEVEL", "warn") }
  # Symbol keys, as Rails' config_for gives them: the adapter looks up :channel_prefix.
  config.cable = YAML.load_file(ENV.fetch("CABLE_CONFIG")).fetch(ENV.fetch("RAILS_ENV", "development")).transform_keys(&:to_sym)
  config.connection_class = -> { ApplicationCable::Connection }
  config.disable_request_forgery_protection = true
  config.worker_pool_size = 4
  config.mount_path = "/cable"
end
