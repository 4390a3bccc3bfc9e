// Camera and microphone access with a sentence for every way it can fail.

/** Resolves to a local MediaStream, or rejects with an Error whose message a person can act on. */
export async function getCallMedia(video) {
  const what = video ? "camera and microphone" : "microphone";
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new Error(`Calls need a secure page (https:// or localhost): this browser does not offer the ${what} here.`);
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video });
  } catch (error) {
    switch (error?.name) {
      case "NotAllowedError":
      case "SecurityError":
        throw new Error(`Access to the ${what} was refused. Allow it for this site in the browser's settings, then call again.`);
      case "NotFoundError":
      case "OverconstrainedError":
        throw new Error(video ? "No camera or microphone was found. Connect one, or make an audio call." : "No microphone was found. Connect one and call again.");
      case "NotReadableError":
      case "AbortError":
        throw new Error(`The ${what} is in use by another application or could not be started.`);
      default:
        throw new Error(`The ${what} could not be opened (${error?.name || "unknown error"}).`);
    }
  }
}
