# Benchmark peer: Rails 6.1 Action Cable (Debian's ruby-actioncable) with the reference BenchmarkChannel.
# Action Cable runs as it does inside a Rails app (same server, connection and channel classes, async
# adapter, 4 workers); only the rest of the Rails stack is left out. Any token is accepted.
require "action_cable"
require "logger"

module ApplicationCable
  class Connection < ActionCable::Connection::Base
    identified_by :current_user

    def connect
      self.current_user = request.params["token"].presence || "guest"
    end
  end

  class Channel < ActionCable::Channel::Base
  end
end

class BenchmarkChannel < ApplicationCable::Channel
  def subscribed
    stream_from "all"
  end

  def echo(data)
    transmit data
  end

  def broadcast(data)
    ActionCable.server.broadcast "all", data
    transmit data.merge("action" => "broadcastResult")
  end
end

ActionCable.server.config.tap do |config|
  config.cable = { "adapter" => "async" }
  config.connection_class = -> { ApplicationCable::Connection }
  config.disable_request_forgery_protection = true
  config.worker_pool_size = 4
  config.logger = Logger.new($stderr, level: ENV.fetch("BENCH_RAILS_LOG_LEVEL", "warn"))
end
