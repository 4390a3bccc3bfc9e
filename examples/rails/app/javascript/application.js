// The app's JavaScript: Stimulus with peercable's P2P controller (bundled by run.sh with esbuild).
import { Application } from "@hotwired/stimulus";
import P2pController from "../../../../web/src/controllers/p2p_controller.js";

window.Stimulus = Application.start();
window.Stimulus.register("p2p", P2pController);
