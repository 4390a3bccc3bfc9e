# frozen_string_literal: true

require_relative "app"
run ConformanceApp.rack_app
