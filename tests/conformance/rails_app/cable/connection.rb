# frozen_string_literal: true

module ApplicationCable
  # Identifies a connection by the JWT `sub`, taken from ?token=, an Authorization bearer header or the
  # peercable_token cookie, like peercable does; anything else is rejected as unauthorized.
  class Connection < ActionCable::Connection::Base
    identified_by :current_user

    # Display name from the token's `name` claim (the `sub` when absent).
    attr_reader :user_name

    def connect
      claims = ConformanceToken.verify(presented_token, ENV["PEERCABLE_JWT_SECRET"])
      reject_unauthorized_connection unless claims
      self.current_user = claims["sub"]
      name = claims["name"]
      # At most 80 bytes of the name, never a partial character.
      name = name.byteslice(0, 80).scrub("") if name.is_a?(String)
      @user_name = name.is_a?(String) && !name.empty? ? name : claims["sub"]
    end

    private

    def presented_token
      query = request.params["token"]
      return query if query.is_a?(String) && !query.empty?

      auth = request.headers["Authorization"].to_s
      return auth.sub(/\ABearer\s+/i, "") if auth.match?(/\ABearer\s+\S/i)

      request.cookies["peercable_token"]
    end
  end

  class Channel < ActionCable::Channel::Base
  end
end
