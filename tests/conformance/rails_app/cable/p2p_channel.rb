# frozen_string_literal: true

require "securerandom"

# The P2P room channel with the message shapes peercable produces: speak and typing go to the room,
# direct to the target user and the sender, signal to the target user only. Presence and history are
# peercable additions that this reference leaves out.
class P2PChannel < ApplicationCable::Channel
  ROOM = /\A[A-Za-z0-9_.:\-]{1,64}\z/.freeze
  MAX_BODY_BYTES = 4096
  MAX_SIGNAL_BYTES = 64 * 1024
  MAX_TARGET_BYTES = 128

  def subscribed
    room = params[:room]
    return reject unless room.is_a?(String) && ROOM.match?(room)

    @room = room
    stream_from "p2p:#{room}"
    stream_from "p2p:user:#{current_user}"
  end

  def speak(data)
    body = read_body(data)
    return unless body

    ActionCable.server.broadcast "p2p:#{@room}",
      { type: "message", id: SecureRandom.uuid, room: @room, from: me, body: body, sent_at: now_ms }
  end

  def direct(data)
    to = read_target(data)
    return unless to

    body = read_body(data)
    return unless body

    message = { type: "direct", id: SecureRandom.uuid, room: @room, from: me, to: to, body: body, sent_at: now_ms }
    ActionCable.server.broadcast "p2p:user:#{current_user}", message unless to == current_user
    ActionCable.server.broadcast "p2p:user:#{to}", message
  end

  def signal(data)
    to = read_target(data)
    return unless to

    signal = data["signal"]
    return error("invalid_signal", "signal must be an object") unless signal.is_a?(Hash)

    if ActiveSupport::JSON.encode(signal).bytesize > MAX_SIGNAL_BYTES
      return error("signal_too_large", "signal is larger than #{MAX_SIGNAL_BYTES} bytes")
    end

    ActionCable.server.broadcast "p2p:user:#{to}", { type: "signal", room: @room, from: me, to: to, signal: signal }
  end

  def typing(_data = nil)
    ActionCable.server.broadcast "p2p:#{@room}", { type: "typing", room: @room, from: me }
  end

  private

  def me
    { id: current_user, name: connection.user_name }
  end

  # The body as peercable accepts it: a string of at most MAX_BODY_BYTES, without control characters other
  # than newline and tab, not blank. Transmits the error and returns nil otherwise.
  def read_body(data)
    raw = data["body"]
    return error("invalid_body", "body must be a string") unless raw.is_a?(String)
    return error("body_too_long", "body is longer than #{MAX_BODY_BYTES} bytes") if raw.bytesize > MAX_BODY_BYTES

    body = raw.gsub(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/, "")
    return error("empty_body", "body is empty") if body.match?(/\A[ \n\t]*\z/)

    body
  end

  def read_target(data)
    to = data["to"]
    return to if to.is_a?(String) && !to.empty? && to.bytesize <= MAX_TARGET_BYTES

    error("invalid_recipient", "to must be a user id")
  end

  def now_ms
    (Time.now.to_f * 1000).to_i
  end

  def error(code, message)
    transmit({ type: "error", code: code, message: message })
    nil
  end
end
