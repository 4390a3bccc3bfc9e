# frozen_string_literal: true

# Signs people in with the app's own session; peercable reads the same cookie when the browser connects.
class SessionsController < ApplicationController
  def new; end

  def create
    user = User.authenticate(params[:user_id], params[:password])
    if user
      reset_session
      session[:user_id] = user.id
      redirect_to root_path
    else
      flash.now[:alert] = "Unknown person or wrong password."
      render :new, status: :unprocessable_entity
    end
  end

  def destroy
    reset_session
    redirect_to sign_in_path
  end
end
