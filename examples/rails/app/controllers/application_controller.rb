# frozen_string_literal: true

class ApplicationController < ActionController::Base
  helper_method :current_user

  private

  def current_user
    @current_user ||= User.find(session[:user_id])
  end

  def require_sign_in
    redirect_to sign_in_path unless current_user
  end
end
