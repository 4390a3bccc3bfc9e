# frozen_string_literal: true

# The chat page, and announcements the app itself sends to a room: a broadcast through Redis that
# peercable delivers to everyone in the room, in the P2P channel's message format.
class RoomsController < ApplicationController
  before_action :require_sign_in

  # Private rooms and who is invited. peercable serves only "lobby" publicly (run.sh: --public-rooms lobby);
  # an invited person's page carries the room name signed with the app's secret, which opens it.
  INVITED = { "team" => %w[alice bob] }.freeze

  def show
    @room = params[:room].presence || "lobby"
    @signed_room = room_verifier.generate(@room) if INVITED.fetch(@room, []).include?(current_user.id)
  end

  def announce
    room = params[:room]
    body = params[:body].to_s.strip
    if body.empty? || body.bytesize > 4096
      redirect_to room_path(room), alert: "An announcement needs 1 to 4096 bytes."
      return
    end
    ActionCable.server.broadcast("p2p:#{room}", {
      type: "message", id: "app-#{SecureRandom.hex(8)}", room: room,
      from: { id: "app", name: "Announcement from #{current_user.name}" },
      body: body, sent_at: (Time.now.to_f * 1000).to_i,
    })
    redirect_to room_path(room), notice: "Announced."
  end

  private

  # Signs as turbo-rails signs stream names; peercable checks it with the same secret (--room-signing-key,
  # which defaults to --rails-secret-key-base).
  def room_verifier
    ActiveSupport::MessageVerifier.new(Rails.application.secret_key_base, digest: "SHA256", serializer: JSON)
  end
end
