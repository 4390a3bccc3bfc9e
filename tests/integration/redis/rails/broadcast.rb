# frozen_string_literal: true

# Broadcasts from a separate Ruby process the way a Rails application does, through the redis adapter:
#   ruby broadcast.rb STREAM JSON            ActionCable.server.broadcast(STREAM, JSON.parse(JSON))
#   ruby broadcast.rb --disconnect USER      ActionCable.server.remote_connections.where(current_user: USER).disconnect
require_relative "cable"

if ARGV[0] == "--disconnect"
  ActionCable.server.remote_connections.where(current_user: ARGV.fetch(1)).disconnect
else
  ActionCable.server.broadcast ARGV.fetch(0), JSON.parse(ARGV.fetch(1))
end
puts "ok"
