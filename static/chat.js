// Chat mode, with JavaScript: keep the newest message in view and the answer box focused after
// htmx swaps in the conversation. Everything works without this file (plain POST/303/GET).
(function () {
  function settle() {
    var last = document.querySelector("#chat-log [data-last]");
    if (last) last.scrollIntoView({block: "end"});
    var box = document.getElementById("chat-answer") ||
      document.querySelector("#chat-form [autofocus]") || document.querySelector("#chat-form button");
    if (box) box.focus({preventScroll: true});
  }
  document.addEventListener("DOMContentLoaded", settle);
  document.addEventListener("htmx:afterSettle", function () {
    var root = document.documentElement;  // a count of swaps: lets a test wait for the answer
    root.dataset.chatSwaps = String(Number(root.dataset.chatSwaps || 0) + 1);
    settle();
  });
})();
