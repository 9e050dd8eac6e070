// Adds Dossier's chat to a web site. Include it where the button should
// appear:
//   <script src="https://crm.example.com/chat/embed.js" data-queue="sales" async></script>
// It adds a "Chat with us" button; the chat itself opens in a frame served
// by the Dossier server, so the site's page never sees the conversation.
(function () {
  var script = document.currentScript;
  if (!script) return;
  var origin = new URL(script.src).origin;
  var queue = script.getAttribute("data-queue") || "support";
  var title = script.getAttribute("data-title") || "Chat with us";
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = title;
  button.setAttribute("aria-expanded", "false");
  button.className = "dossier-chat-button";
  var frame = null;
  button.addEventListener("click", function () {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.title = title;
      frame.src = origin + "/chat/widget?queue=" + encodeURIComponent(queue) + "&title=" + encodeURIComponent(title);
      frame.className = "dossier-chat-frame";
      frame.width = "360";
      frame.height = "520";
      script.parentNode.insertBefore(frame, button.nextSibling);
    } else {
      frame.hidden = !frame.hidden;
    }
    button.setAttribute("aria-expanded", String(!frame.hidden));
  });
  script.parentNode.insertBefore(button, script.nextSibling);
})();
