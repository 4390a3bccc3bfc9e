# frozen_string_literal: true

require "openssl"
require "base64"
require "json"

# Verifies the HS256 JSON Web Tokens that peercable accepts, with the same rules, so that one client and one
# token work against both servers.
module ConformanceToken
  module_function

  # Returns the claims Hash of a valid token (signature, alg, exp, non-empty sub), or nil.
  def verify(token, secret)
    return nil unless token.is_a?(String) && !token.empty? && secret && !secret.empty?

    parts = token.split(".", -1)
    return nil unless parts.length == 3

    header = decode_json(parts[0])
    claims = decode_json(parts[1])
    return nil unless header.is_a?(Hash) && header["alg"] == "HS256" && claims.is_a?(Hash)

    expected = Base64.urlsafe_encode64(OpenSSL::HMAC.digest("SHA256", secret, "#{parts[0]}.#{parts[1]}"), padding: false)
    return nil unless expected.bytesize == parts[2].bytesize && OpenSSL.fixed_length_secure_compare(expected, parts[2])

    now = Time.now.to_i
    exp = claims["exp"]
    return nil if !exp.nil? && !(exp.is_a?(Numeric) && now < exp)

    nbf = claims["nbf"]
    return nil if !nbf.nil? && !(nbf.is_a?(Numeric) && now >= nbf)

    sub = claims["sub"]
    sub = sub.to_s if sub.is_a?(Integer)
    return nil unless sub.is_a?(String) && !sub.empty? && sub.bytesize <= 128

    claims.merge("sub" => sub)
  end

  def decode_json(segment)
    JSON.parse(Base64.urlsafe_decode64(segment + "=" * ((4 - segment.length % 4) % 4)))
  rescue ArgumentError, JSON::ParserError
    nil
  end
end
