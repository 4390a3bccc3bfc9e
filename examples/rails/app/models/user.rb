# frozen_string_literal: true

# The demo's people. A real app has its own users table; what matters here is that the session holds the
# user's id under "user_id", which is where peercable looks (--rails-session-key).
class User
  Person = Struct.new(:id, :name, keyword_init: true)
  PEOPLE = [
    Person.new(id: "alice", name: "Alice"),
    Person.new(id: "bob", name: "Bob"),
    Person.new(id: "carol", name: "Carol"),
  ].freeze
  # One shared demo password, shown on the sign-in page.
  PASSWORD = "p2p-demo"

  def self.find(id) = PEOPLE.find { |p| p.id == id }
  def self.all = PEOPLE

  def self.authenticate(id, password)
    user = find(id)
    user if user && ActiveSupport::SecurityUtils.secure_compare(password.to_s, PASSWORD)
  end
end
