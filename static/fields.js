/* Live field behaviour of the wizard, as docassemble's pages have it. Without JavaScript the
   form still works: every field is drawn and the server decides (it re-checks all of this).

   - show if / hide if: a field whose wrapper has data-show-if / data-hide-if (JSON: the
     controlling field's name, the value it must have, whether that field stores the opposite
     of what is ticked) is hidden, and its inputs disabled so they are not sent, while the
     condition says so; a field controlled by a hidden field is hidden too. js show if /
     js hide if (data-js-show-if / data-js-hide-if) likewise, from a parsed expression.
   - "none of the above": ticking a choice marked data-exclusive unticks the others, and
     ticking another choice unticks it.
   - date limits: a date input with data-min-message / data-max-message shows that message
     (the engine's own words) as soon as it loses focus holding a date outside min / max. */
(function () {
  "use strict";
  var TRUE = ["true", "yes", "1", "on"];

  function inputsNamed(form, name) {
    return Array.prototype.filter.call(form.elements, function (el) { return el.name === name; });
  }

  function currentValue(form, name) {
    var els = inputsNamed(form, name);
    if (!els.length) return undefined;
    var first = els[0];
    if (first.type === "radio") {
      var on = els.filter(function (el) { return el.checked; })[0];
      return on ? on.value : null;
    }
    if (first.type === "checkbox") {
      if (els.length === 1 && !first.closest("fieldset")) return first.checked ? "True" : "False";
      return els.filter(function (el) { return el.checked; }).map(function (el) { return el.value; });
    }
    return first.value;
  }

  function matches(value, cond) {
    if (Array.isArray(value)) return value.some(function (v) { return matches(v, cond); });
    var expected = cond.is;
    if (expected === null) return value === null || value === "" || value === "None";
    if (value === null || value === undefined || value === "None") return false;
    if (typeof expected === "boolean") {
      var ticked = TRUE.indexOf(String(value).trim().toLowerCase()) >= 0;
      return (cond.inverted ? !ticked : ticked) === expected;
    }
    return String(value).trim() === String(expected).trim();
  }

  function wrapperOf(form, name) {
    var el = inputsNamed(form, name)[0];
    return el ? el.closest("[data-show-if], [data-hide-if], [data-js-show-if], [data-js-hide-if]") : null;
  }

  function visible(form, wrapper, seen) {
    if (!wrapper || seen.indexOf(wrapper) >= 0) return true;
    seen.push(wrapper);
    var rules = [["showIf", false], ["hideIf", true]];
    for (var i = 0; i < rules.length; i++) {
      var raw = wrapper.dataset[rules[i][0]];
      if (!raw) continue;
      var cond = JSON.parse(raw);
      var value = currentValue(form, cond.key);
      if (value === undefined) continue; /* not on this page: the server decided */
      if (matches(value, cond) === rules[i][1]) return false;
      if (!visible(form, wrapperOf(form, cond.key), seen)) return false;
    }
    return true;
  }

  /* js show if: docassemble's common form only (what engine/jscond.py also accepts):
     val("x") / literals compared with == != === !==, combined with && || ! and parentheses.
     Parsed here, never eval'd; anything else leaves the field shown, as on the server. */
  var TOKEN = /\s*(===|!==|==|!=|&&|\|\||!|\(|\)|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|-?\d+(?:\.\d+)?|[A-Za-z_]\w*)/y;

  function tokens(expr) {
    var out = [], m;
    TOKEN.lastIndex = 0;
    expr = expr.trim().replace(/;$/, "");
    while (TOKEN.lastIndex < expr.length) {
      m = TOKEN.exec(expr);
      if (!m) throw new Error("unsupported");
      out.push(m[1]);
      if (TOKEN.lastIndex >= expr.length || !expr.slice(TOKEN.lastIndex).trim()) break;
    }
    return out;
  }

  function typedValue(form, key, noyes) {
    var value = currentValue(form, key);
    if (value === undefined) return null;
    var els = inputsNamed(form, key);
    var flip = noyes.indexOf(key) >= 0;
    if (typeof value === "string" && (els[0].type === "radio" || els[0].type === "checkbox") &&
        ["True", "False", "None"].indexOf(value) >= 0) {
      if (value === "None") return null;
      var b = value === "True";
      return flip ? !b : b;
    }
    if (value === null && els[0].type === "checkbox" && els.length === 1) return flip;
    return value;
  }

  function evaluate(form, expr, noyes) {
    var t = tokens(expr), i = 0;
    function peek() { return t[i]; }
    function next() { return t[i++]; }
    function primary() {
      var tok = next();
      if (tok === "(") { var v = or(); if (next() !== ")") throw new Error("paren"); return v; }
      if (tok === "!") return !primary();
      if (tok === "true") return true;
      if (tok === "false") return false;
      if (tok === "null") return null;
      if (tok === "val") {
        if (next() !== "(") throw new Error("val");
        var name = next();
        if (next() !== ")" || !/^["']/.test(name)) throw new Error("val");
        var key = name.slice(1, -1), item = /^(.+)\[(['"])(.+)\2\]$/.exec(key);
        if (item) {
          var all = currentValue(form, item[1]);
          return Array.isArray(all) ? all.indexOf(item[3]) >= 0 : null;
        }
        return typedValue(form, key, noyes);
      }
      if (/^["']/.test(tok)) return tok.slice(1, -1).replace(/\\(.)/g, "$1");
      if (/^-?\d/.test(tok)) return Number(tok);
      throw new Error("unsupported");
    }
    function equal(a, b) {
      if (typeof a === "number" || typeof b === "number") return a !== null && b !== null && Number(a) === Number(b);
      return a === b;
    }
    function cmp() {
      var left = primary();
      var op = peek();
      if (op === "==" || op === "===" || op === "!=" || op === "!==") {
        next();
        var same = equal(left, primary());
        return op.charAt(0) === "!" ? !same : same;
      }
      return left;
    }
    function and() { var v = cmp(); while (peek() === "&&") { next(); var r = cmp(); v = v && r; } return v; }
    function or() { var v = and(); while (peek() === "||") { next(); var r = and(); v = v || r; } return v; }
    var result = or();
    if (i !== t.length) throw new Error("trailing");
    return Boolean(result);
  }

  function jsVisible(form, wrapper) {
    var rules = [["jsShowIf", false], ["jsHideIf", true]];
    for (var i = 0; i < rules.length; i++) {
      var raw = wrapper.dataset[rules[i][0]];
      if (!raw) continue;
      var cond = JSON.parse(raw), shown;
      try { shown = evaluate(form, cond.expr, cond.noyes); } catch (e) { continue; }
      if (shown === rules[i][1]) return false;
    }
    return true;
  }

  function refresh(form) {
    form.querySelectorAll("[data-show-if], [data-hide-if], [data-js-show-if], [data-js-hide-if]").forEach(function (wrapper) {
      var show = visible(form, wrapper, []) && jsVisible(form, wrapper);
      wrapper.hidden = !show;
      wrapper.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !show; });
    });
  }

  function exclusive(box) {
    if (box.type !== "checkbox" || !box.checked) return;
    var group = box.closest("fieldset");
    if (!group) return;
    group.querySelectorAll('input[type="checkbox"]').forEach(function (other) {
      if (other !== box && other.name === box.name && (box.hasAttribute("data-exclusive") ||
          other.hasAttribute("data-exclusive"))) other.checked = false;
    });
  }

  function checkLimits(input) {
    var message = null;
    if (input.validity.rangeOverflow) message = input.dataset.maxMessage;
    else if (input.validity.rangeUnderflow) message = input.dataset.minMessage;
    var id = input.id + "-live-error";
    var shown = document.getElementById(id);
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (x) {
      return x && x !== id;
    });
    if (!message) {
      if (shown) shown.remove();
      input.removeAttribute("aria-invalid");
    } else {
      if (!shown) {
        shown = document.createElement("small");
        shown.className = "error";
        shown.id = id;
        input.insertAdjacentElement("afterend", shown);
      }
      shown.textContent = message;
      input.setAttribute("aria-invalid", "true");
      described.push(id);
    }
    if (described.length) input.setAttribute("aria-describedby", described.join(" "));
    else input.removeAttribute("aria-describedby");
  }

  function limited(el) {
    return el && el.tagName === "INPUT" && (el.dataset.maxMessage || el.dataset.minMessage);
  }

  function setup(form) {
    if (form.hasAttribute("data-fields-ready")) return;
    form.setAttribute("data-fields-ready", "");
    refresh(form);
    /* Like docassemble's jQuery validation: checked when the field is left, then, once it
       shows a message, at every change (so the message goes as soon as the date is fixed,
       before the page moves under a click on Continue). */
    function recheck(el) {
      if (limited(el) && (document.activeElement !== el || document.getElementById(el.id + "-live-error"))) {
        checkLimits(el);
      }
    }
    form.addEventListener("change", function (event) {
      exclusive(event.target);
      refresh(form);
      recheck(event.target);
    });
    form.addEventListener("input", function (event) {
      refresh(form);
      recheck(event.target);
    });
    form.addEventListener("focusout", function (event) {
      if (limited(event.target)) checkLimits(event.target);
    });
  }

  function setupAll() { document.querySelectorAll("main form").forEach(setup); }
  setupAll();
  document.addEventListener("htmx:afterSettle", setupAll); /* a new screen swapped in */
})();
