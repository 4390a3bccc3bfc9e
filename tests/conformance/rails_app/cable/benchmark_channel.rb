# frozen_string_literal: true

# The customary Action Cable benchmark channel: echo transmits the data back, broadcast fans it out to
# every subscriber of "all" and tells the sender with a broadcastResult.
class BenchmarkChannel < ApplicationCable::Channel
  def subscribed
    stream_from "all"
  end

  def echo(data)
    transmit data
  end

  def broadcast(data)
    ActionCable.server.broadcast "all", data
    data["action"] = "broadcastResult"
    transmit data
  end
end
