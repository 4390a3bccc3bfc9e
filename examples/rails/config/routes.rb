# frozen_string_literal: true

Rails.application.routes.draw do
  root "rooms#show"
  get "/rooms/:room", to: "rooms#show", as: :room, constraints: { room: /[A-Za-z0-9_.:-]{1,64}/ }
  post "/rooms/:room/announcements", to: "rooms#announce", as: :room_announcements,
                                      constraints: { room: /[A-Za-z0-9_.:-]{1,64}/ }
  get "/sign_in", to: "sessions#new", as: :sign_in
  post "/sign_in", to: "sessions#create"
  delete "/sign_out", to: "sessions#destroy", as: :sign_out
end
