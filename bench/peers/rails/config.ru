# rackup file for puma: Action Cable mounted at /cable, like `mount ActionCable.server => "/cable"`.
require_relative "app"

map "/cable" do
  run ActionCable.server
end

map "/health" do
  run ->(_env) { [200, { "Content-Type" => "application/json" }, ['{"status":"ok"}']] }
end
