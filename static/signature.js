// Signature pad: draw with a finger, pen or mouse; the PNG goes into the hidden "drawn" input.
// Without JavaScript the typed name is the signature.
document.querySelectorAll(".sign-form").forEach((form) => {
  const pad = form.querySelector(".signature-pad");
  const canvas = pad && pad.querySelector("canvas");
  const out = form.querySelector("input[name=drawn]");
  if (!canvas || !out) return;
  pad.hidden = false;
  const ctx = canvas.getContext("2d");
  ctx.lineWidth = 3; ctx.lineCap = "round"; ctx.strokeStyle = "#1b1f24";
  let drawing = false, drawn = false;
  const at = (e) => { const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height]; };
  canvas.addEventListener("pointerdown", (e) => { drawing = true; canvas.setPointerCapture(e.pointerId);
    ctx.beginPath(); ctx.moveTo(...at(e)); });
  canvas.addEventListener("pointermove", (e) => { if (!drawing) return; ctx.lineTo(...at(e)); ctx.stroke(); drawn = true; });
  const end = () => { if (drawing && drawn) out.value = canvas.toDataURL("image/png"); drawing = false; };
  canvas.addEventListener("pointerup", end); canvas.addEventListener("pointercancel", end);
  pad.querySelector(".clear").addEventListener("click", () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height); drawn = false; out.value = ""; });
});
